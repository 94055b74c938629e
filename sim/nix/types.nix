# Option types for the simulated module system. Each type is a plain record: a `check`
# predicate, a human description used in error messages (worded like NixOS's), and a
# `merge` kind that modules.nix dispatches on. The NixOS type functor machinery is
# deliberately absent: modules only build types and pass them to mkOption.
{ lib }:
let
  b = builtins;

  mkType = attrs: {
    _type = "option-type";
    check = _: true;
    merge = "equal";
    elemType = null;
  } // attrs;

  isStringLike = v: b.isString v || b.isPath v || (b.isAttrs v && v ? outPath);
  isPkg = v: b.isAttrs v && (v.type or null) == "derivation";

  between = lo: hi: mkType {
    name = "intBetween";
    description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
    check = v: b.isInt v && v >= lo && v <= hi;
  };

  sepString = name: sep: mkType {
    inherit name sep;
    description = "strings concatenated with ${b.toJSON sep}";
    check = b.isString;
    merge = "separated";
  };

  types = rec {
    # Scalars.
    bool = mkType { name = "bool"; description = "boolean"; check = b.isBool; };
    int = mkType { name = "int"; description = "signed integer"; check = b.isInt; };
    float = mkType { name = "float"; description = "floating point number"; check = b.isFloat; };
    number = mkType { name = "number"; description = "signed integer or floating point number"; check = v: b.isInt v || b.isFloat v; };
    str = mkType { name = "str"; description = "string"; check = b.isString; };
    string = str;
    nonEmptyStr = mkType { name = "nonEmptyStr"; description = "non-empty string"; check = v: b.isString v && b.match "[ \t\n]*" v == null; };
    singleLineStr = mkType { name = "singleLineStr"; description = "(optionally newline-terminated) single-line string"; check = v: b.isString v && b.match "[^\n]*\n?" v != null; };
    strMatching = re: mkType { name = "strMatching"; description = "string matching the pattern ${re}"; check = v: b.isString v && b.match re v != null; };
    lines = sepString "lines" "\n";
    commas = sepString "commas" ",";
    envVar = sepString "envVar" ":";
    separatedString = sep: sepString "separatedString" sep;
    path = mkType { name = "path"; description = "path"; check = isStringLike; };
    pathInStore = path;
    package = mkType { name = "package"; description = "package"; check = v: isPkg v || isStringLike v; merge = "one"; };
    shellPackage = package;
    port = ints.u16 // { name = "port"; };
    raw = mkType { name = "raw"; description = "raw value"; merge = "one"; };
    unspecified = mkType { name = "unspecified"; description = "unspecified value"; merge = "default"; };
    anything = mkType { name = "anything"; description = "anything"; merge = "anything"; };
    attrs = mkType { name = "attrs"; description = "attribute set"; check = b.isAttrs; merge = "attrs"; };
    optionType = raw;

    ints = {
      unsigned = mkType { name = "unsignedInt"; description = "unsigned integer, meaning >=0"; check = v: b.isInt v && v >= 0; };
      positive = mkType { name = "positiveInt"; description = "positive integer, meaning >0"; check = v: b.isInt v && v > 0; };
      u8 = between 0 255;
      u16 = between 0 65535;
      u32 = between 0 4294967295;
      s8 = between (-128) 127;
      s16 = between (-32768) 32767;
      s32 = between (-2147483648) 2147483647;
      inherit between;
    };

    # Constructors.
    enum = values: mkType {
      name = "enum";
      description = "one of ${lib.concatMapStringsSep ", " b.toJSON values}";
      check = v: b.elem v values;
    };
    listOf = t: mkType {
      name = "listOf";
      description = "list of ${t.description}";
      check = v: b.isList v;
      merge = "list";
      elemType = t;
    };
    nonEmptyListOf = t: listOf t // { description = "non-empty list of ${t.description}"; check = v: b.isList v && v != [ ]; };
    attrsOf = t: mkType {
      name = "attrsOf";
      description = "attribute set of ${t.description}";
      check = b.isAttrs;
      merge = "attrs";
      elemType = t;
    };
    lazyAttrsOf = attrsOf;
    nullOr = t: mkType {
      name = "nullOr";
      description = "null or ${t.description}";
      check = v: v == null || t.check v;
      merge = "nullOr";
      elemType = t;
    };
    uniq = t: t // { merge = "one"; };
    unique = _: uniq;
    either = t1: t2: mkType {
      name = "either";
      description = "${t1.description} or ${t2.description}";
      check = v: t1.check v || t2.check v;
      merge = "either";
      left = t1;
      right = t2;
    };
    oneOf = ts: lib.foldr either (b.head ts) (b.tail ts);
    coercedTo = from: coerce: to: mkType {
      name = "coercedTo";
      description = "${to.description} or ${from.description} convertible to it";
      check = v: to.check v || from.check v;
      merge = "coercedTo";
      inherit from coerce to;
    };
    functionTo = t: mkType { name = "functionTo"; description = "function that evaluates to a(n) ${t.description}"; check = b.isFunction; merge = "one"; };
    submodule = m: submoduleWith { modules = lib.toList m; };
    submoduleWith = { modules, ... }: mkType {
      name = "submodule";
      description = "submodule";
      check = v: b.isAttrs v || b.isFunction v;
      merge = "submodule";
      inherit modules;
    };
    deferredModule = raw;
  };
in
types
