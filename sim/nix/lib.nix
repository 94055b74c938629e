# A stand-in for nixpkgs' `lib`: the functions NixOS modules commonly call, written from
# their documented behaviour. Properties (mkIf, mkOverride, mkOrder, mkMerge) and
# options use the same `_type` tags as NixOS so that modules.nix can recognise them.
let
  b = builtins;
  strings = import ./lib-strings.nix { inherit b; };
  lists = import ./lib-lists.nix { inherit b; };
  attrsets = import ./lib-attrsets.nix { inherit b lists; };

  channelInfo = import ./channel.nix;

  trivial = {
    id = x: x;
    const = x: _: x;
    flip = f: x: y: f y x;
    pipe = b.foldl' (x: f: f x);
    fix = f: let x = f x; in x;
    boolToString = v: if v then "true" else "false";
    min = x: y: if x < y then x else y;
    max = x: y: if x > y then x else y;
    mod = base: int: base - (int * (b.div base int));
    warn = msg: b.trace "warning: ${msg}";
    warnIf = cond: msg: if cond then trivial.warn msg else x: x;
    warnIfNot = cond: msg: if cond then x: x else trivial.warn msg;
    throwIf = cond: msg: if cond then throw msg else x: x;
    throwIfNot = cond: msg: if cond then x: x else throw msg;
    assertMsg = pred: msg: pred || throw msg;
    toFunction = v: if b.isFunction v then v else _: v;
    importJSON = path: b.fromJSON (b.readFile path);
    importTOML = path: b.fromTOML (b.readFile path);
    inNixShell = false;
    release = channelInfo.release;
    codeName = channelInfo.codeName;
    version = channelInfo.version;
    versionSuffix = channelInfo.suffix;
    oldestSupportedRelease = 2311;
    isInOldestRelease = _: true;
    mapNullable = f: v: if v == null then null else f v;
  };

  # Properties, with the priorities and orders NixOS uses.
  modules = rec {
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkOverride = priority: content: { _type = "override"; inherit priority content; };
    mkOptionDefault = mkOverride 1500;
    mkDefault = mkOverride 1000;
    mkImageMediaOverride = mkOverride 60;
    mkForce = mkOverride 50;
    mkVMOverride = mkOverride 10;
    mkOrder = priority: content: { _type = "order"; inherit priority content; };
    mkBefore = mkOrder 500;
    mkAfter = mkOrder 1500;
    defaultOverridePriority = 100;
    defaultOrderPriority = 1000;
    mkFixStrictness = x: x;
    setDefaultModuleLocation = file: m: { _file = file; imports = [ m ]; };
    # Option renames are accepted but not forwarded: the old path simply stays unchecked.
    mkRenamedOptionModule = _: _: { };
    mkRenamedOptionModuleWith = _: { };
    mkRemovedOptionModule = _: _: { };
    mkAliasOptionModule = _: _: { };
    mkMergedOptionModule = _: _: _: { };
    mkChangedOptionModule = _: _: _: { };
    mkAliasDefinitions = option: option.value or { };
  };

  options = rec {
    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption = name: mkOption {
      default = false;
      example = true;
      type = types.bool;
      description = "Whether to enable ${name}.";
    };
    mkPackageOption = pkgs: name: { default ? [ name ], nullable ? false, example ? null, extraDescription ? "", ... }:
      let
        path = if b.isList default then default else [ default ];
        pkg = attrsets.getAttrFromPath path pkgs;
      in
      mkOption {
        type = if nullable then types.nullOr types.package else types.package;
        default = pkg;
        description = "The ${lists.last (lists.toList name)} package to use. ${extraDescription}";
      };
    mkSinkUndeclaredOptions = _: mkOption { type = types.anything; default = null; };
    isOption = v: b.isAttrs v && (v._type or null) == "option";
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    literalExample = literalExpression;
    literalMD = text: { _type = "literalMD"; inherit text; };
    mdDoc = s: s;
    showOption = parts: strings.concatMapStringsSep "." (p:
      if b.match "[a-zA-Z_][a-zA-Z0-9_'-]*" p != null || b.match "<.*>" p != null then p else b.toJSON p) parts;
  };

  types = import ./types.nix { lib = self; };

  generators = {
    toJSON = _: b.toJSON;
    toYAML = _: b.toJSON;
    toPretty = _: import ./pretty.nix;
    mkKeyValueDefault = _: sep: k: v: "${k}${sep}${if b.isBool v then trivial.boolToString v else toString v}";
    toKeyValue = { mkKeyValue ? generators.mkKeyValueDefault { } "=", ... }: attrs:
      strings.concatStrings (attrsets.mapAttrsToList (k: v: mkKeyValue k v + "\n") attrs);
    toINI = { mkKeyValue ? generators.mkKeyValueDefault { } "=", ... }: attrs:
      strings.concatStringsSep "\n" (attrsets.mapAttrsToList (section: values:
        "[${section}]\n" + generators.toKeyValue { inherit mkKeyValue; } values) attrs);
  };

  kernel = {
    yes = { tristate = "y"; optional = false; };
    no = { tristate = "n"; optional = false; };
    module = { tristate = "m"; optional = false; };
    unset = { tristate = null; optional = false; };
    freeform = freeform: { inherit freeform; optional = false; };
    option = x: x // { optional = true; };
  };

  self = b.removeAttrs b [ "derivation" "import" "fetchurl" "fetchTarball" "fetchGit" "storePath" ]
    // strings // lists // attrsets // trivial // modules // options
    // {
      inherit strings lists attrsets trivial modules options types generators kernel;
      versions = {
        major = v: b.elemAt (b.splitVersion v) 0;
        minor = v: b.elemAt (b.splitVersion v) 1;
        majorMinor = v: "${self.versions.major v}.${self.versions.minor v}";
      };
      sources = { cleanSource = x: x; cleanSourceWith = { src, ... }: src; };
      cleanSource = x: x;
      fakeHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
      fakeSha256 = "0000000000000000000000000000000000000000000000000000";
      maintainers = { };
      teams = { };
      platforms = { linux = [ "x86_64-linux" "aarch64-linux" ]; all = [ "x86_64-linux" "aarch64-linux" ]; };
      licenses = { };
    };
in
self
