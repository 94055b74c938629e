# The module system of the simulation. It collects modules and their imports, merges
# option declarations, and merges definitions the way NixOS does:
#  - undeclared attribute sets merge structurally; mkIf/mkMerge/mkOverride wrapped around
#    an attribute set are pushed down to its leaves, so the *names* of a set never depend
#    on a condition (this is what keeps `mkIf config.x.enable { ... }` from recursing);
#  - at a leaf (or a declared option) the properties are discharged, the highest priority
#    wins, lists concatenate in mkOrder order, other values must agree;
#  - declared options merge by their type (types.nix) and fall back to their default.
# Every location becomes a node { kind, value, defined, children? }; `value` is what
# modules see as `config`, the node tree is what eval.nix serialises.
{ lib }:
let
  b = builtins;
  pretty = import ./pretty.nix;
  inherit (lib) showOption;

  isPlainSet = v: b.isAttrs v && !(v ? _type) && (v.type or null) != "derivation";
  isOptionDecl = v: b.isAttrs v && (v._type or null) == "option";
  typeOf = v: if b.isAttrs v then v._type or null else null;

  prioritySuggestion = "Use `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.";

  showDefs = defs: b.concatStringsSep "" (map (d:
    let
      shown = b.tryEval (pretty d.value);
      lines = b.filter b.isString (b.split "\n" shown.value);
      text = b.concatStringsSep "\n    " (lib.take 5 lines ++ lib.optional (b.length lines > 5) "...");
      suffix = if !shown.success then "" else if b.length lines > 1 then ":\n    " + text else ": " + text;
    in
    "\n- In `${d.file}'${suffix}") defs);

  # mkIf/mkOverride around an attribute set become mkIf/mkOverride around each attribute.
  pushDown = v:
    let
      t = typeOf v;
      wrap = f: x: if isPlainSet x then b.mapAttrs (_: f) x else f x;
    in
    if t == "merge" then b.concatMap pushDown v.contents
    else if t == "if" then map (wrap (lib.mkIf v.condition)) (pushDown v.content)
    else if t == "override" then map (wrap (lib.mkOverride v.priority)) (pushDown v.content)
    else [ v ];

  # A definition becomes zero or more plain values with a priority and an order.
  discharge = v:
    let t = typeOf v; in
    if t == "merge" then b.concatMap discharge v.contents
    else if t == "if" then
      (if !b.isBool v.condition then throw "‘mkIf’ called with a non-Boolean condition"
      else if v.condition then discharge v.content else [ ])
    else if t == "override" then map (x: x // { priority = v.priority; }) (discharge v.content)
    else if t == "order" then map (x: x // { order = v.priority; }) (discharge v.content)
    else [{ value = v; priority = 100; order = 1000; }];

  dischargeDefs = defs: b.concatMap (d: map (x: x // { inherit (d) file; }) (discharge d.value)) defs;
  filterOverrides = defs:
    let top = b.foldl' (acc: d: if d.priority < acc then d.priority else acc) 9999 defs; in
    b.filter (d: d.priority == top) defs;
  byOrder = defs: b.sort (x: y: x.order < y.order) defs;

  sameValue = x: y:
    if (x.type or null) == "derivation" && (y.type or null) == "derivation" then x.outPath == y.outPath else x == y;
  mergeEqual = loc: defs:
    let first = b.head defs; in
    if b.all (d: sameValue d.value first.value) (b.tail defs) then first.value
    else throw "The option `${showOption loc}' has conflicting definition values:${showDefs defs}\n${prioritySuggestion}";
  mergeOne = loc: defs:
    if b.length defs == 1 then (b.head defs).value
    else throw "The option `${showOption loc}' is defined multiple times while it's expected to be unique.\n\nDefinition values:${showDefs defs}\n${prioritySuggestion}";
  concatLists = defs: b.concatMap (d: lib.toList d.value) (byOrder defs);

  leaf = value: { kind = "leaf"; inherit value; defined = true; };
  undefinedLeaf = loc: {
    kind = "leaf";
    defined = false;
    value = throw "The option `${showOption loc}' was accessed but has no value defined. Try setting the option.";
  };

  checkType = loc: type: defs:
    let bad = b.filter (d: !(type.check d.value)) defs; in
    if bad == [ ] then defs
    else throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition values:${showDefs bad}";

  make = args:
    let
      # Attribute set node: names from the definitions and the declarations.
      setNode = { loc, declNames ? { }, declFor ? (_: null), defs, dropUndefined ? false }:
        let
          perName = b.zipAttrsWith (_: ds: ds) (map (d: b.mapAttrs (_: v: { inherit (d) file; value = v; }) d.value) defs);
          names = b.mapAttrs (_: _: [ ]) declNames // perName;
          all = b.mapAttrs (n: ds: mergeNode (loc ++ [ n ]) (declFor n) ds) names;
          children = if dropUndefined then lib.filterAttrs (_: c: c.kind != "leaf" || c.defined) all else all;
        in
        { kind = "set"; inherit children; defined = true; value = b.mapAttrs (_: c: c.value) children; };

      mergeNode = loc: decl: defs:
        if isOptionDecl decl then mergeOption loc decl defs else mergeLoose loc decl defs;

      # An undeclared location or an option namespace.
      mergeLoose = loc: decl: defs:
        let
          pushed = b.concatMap (d: map (v: { inherit (d) file; value = v; }) (pushDown d.value)) defs;
          allSets = b.all (d: isPlainSet d.value) pushed;
        in
        if allSets then setNode { inherit loc; defs = pushed; declNames = if decl == null then { } else decl; declFor = n: if decl == null then null else decl.${n} or null; }
        else if decl == null then mergeUndeclaredLeaf loc defs
        else throw "The option `${showOption loc}' is a set of options, but it is defined as a value that is not an attribute set. Definition values:${showDefs (b.filter (d: !(isPlainSet d.value)) pushed)}";

      mergeUndeclaredLeaf = loc: defs:
        let kept = filterOverrides (dischargeDefs defs); in
        if kept == [ ] then undefinedLeaf loc
        else if b.all (d: b.isList d.value) kept then leaf (concatLists kept)
        else if b.all (d: isPlainSet d.value) kept then setNode { inherit loc; defs = kept; }
        else leaf (mergeEqual loc kept);

      mergeOption = loc: opt: defs:
        let
          declFile = b.head (opt.declarations or [ "<unknown-file>" ] ++ [ "<unknown-file>" ]);
          defaults = if opt ? default then [{ file = declFile; value = opt.default; priority = 1500; order = 1000; }] else [ ];
          kept = filterOverrides (dischargeDefs defs ++ defaults);
          merged = mergeTyped loc (opt.type or lib.types.unspecified) kept;
        in
        if kept == [ ] then undefinedLeaf loc
        else if opt ? apply then leaf (opt.apply merged.value)
        else merged;

      mergeTyped = loc: type: defs:
        let m = type.merge or "equal"; in
        if m == "attrs" then
          setNode {
            inherit loc;
            defs = checkType loc type defs;
            declFor = _: if type.elemType == null then null else { _type = "option"; type = type.elemType; };
            dropUndefined = true;
          }
        else if m == "submodule" then submoduleNode loc type (checkType loc type defs)
        else if m == "nullOr" then
          (let nonNull = b.filter (d: d.value != null) defs; in
          if nonNull == [ ] then leaf null
          else if b.length nonNull != b.length defs then
            throw "The option `${showOption loc}' is defined both null and not null, in ${b.concatStringsSep ", " (map (d: "`${d.file}'") defs)}."
          else mergeTyped loc type.elemType defs)
        else if m == "either" then
          mergeTyped loc (if b.all (d: type.left.check d.value) defs then type.left else type.right) (checkType loc type defs)
        else if m == "coercedTo" then
          mergeTyped loc type.to (map (d: if !(type.to.check d.value) && type.from.check d.value then d // { value = type.coerce d.value; } else d) (checkType loc type defs))
        else if m == "anything" then
          (if b.all (d: isPlainSet d.value) defs then setNode { inherit loc defs; }
          else if b.all (d: b.isList d.value) defs then leaf (concatLists defs)
          else leaf (mergeEqual loc defs))
        else
          let checked = checkType loc type defs; in
          if m == "list" then leaf (concatLists (checkElems loc type checked))
          else if m == "separated" then leaf (b.concatStringsSep type.sep (map (d: d.value) (byOrder checked)))
          else if m == "one" then leaf (mergeOne loc checked)
          else if m == "unitOption" then leaf (if b.any (d: b.isList d.value) checked then concatLists checked else mergeEqual loc checked)
          else if m == "default" then
            (if b.all (d: b.isList d.value) checked then leaf (concatLists checked)
            else if b.all (d: isPlainSet d.value) checked then setNode { inherit loc; defs = checked; }
            else if b.all (d: b.isBool d.value) checked then leaf (b.any (d: d.value) checked)
            else leaf (mergeEqual loc checked))
          else leaf (mergeEqual loc checked);

      # NixOS checks list elements one by one and names the culprit "[definition i-entry j]".
      checkElems = loc: type: defs:
        let
          elemType = type.elemType;
          simple = elemType != null && !(b.elem (elemType.merge or "equal") [ "submodule" "attrs" ]);
          bad = b.concatLists (lib.imap1 (i: d:
            lib.concatLists (lib.imap1 (j: v:
              if elemType.check v then [ ] else [{ inherit i j v; inherit (d) file; }]) (lib.toList d.value))) defs);
          first = b.head bad;
        in
        if !simple || bad == [ ] then defs
        else throw "A definition for option `${showOption (loc ++ [ "[definition ${toString first.i}-entry ${toString first.j}]" ])}' is not of type `${elemType.description}'. Definition values:${showDefs [{ inherit (first) file; value = first.v; }]}";

      # A submodule value: its own modules declare options and may define values; `name`
      # is the attribute name when the submodule sits in an attrsOf.
      submoduleNode = loc: type: defs:
        let
          subArgs = args // {
            name = if loc == [ ] then "" else lib.last loc;
            config = self.value;
            options = subDecls;
          };
          subModules = collect subArgs (b.head (map (d: d.file) defs ++ [ "<submodule>" ])) type.modules;
          subDecls = mergeDecls loc (map (m: { inherit (m) file; value = m.options; }) subModules);
          userDefs = map (d: if b.isFunction d.value then d // { value = (loadModule subArgs d.file d.value).config; } else d) defs;
          self = mergeLoose loc subDecls (userDefs ++ map (m: { inherit (m) file; value = m.config; }) subModules);
        in
        self;
    in
    { inherit mergeNode mergeLoose; };

  mergeDecls = loc: entries:
    let
      opts = b.filter (e: isOptionDecl e.value) entries;
      sets = b.filter (e: !(isOptionDecl e.value)) entries;
      first = b.head opts;
    in
    if opts == [ ] then
      b.zipAttrsWith (n: vs: mergeDecls (loc ++ [ n ]) vs)
        (map (e: b.mapAttrs (_: v: { inherit (e) file; value = v; }) e.value) (b.filter (e: b.isAttrs e.value) sets))
    else if sets != [ ] then
      throw "The option `${showOption loc}' in `${first.file}' is a prefix of options in `${(b.head sets).file}'."
    else if b.length opts == 1 then first.value // { declarations = [ first.file ]; }
    else if b.all (e: (e.value.type.merge or "") == "submodule") opts then
      first.value // {
        declarations = map (e: e.file) opts;
        type = first.value.type // { modules = b.concatMap (e: e.value.type.modules) opts; };
      }
    else throw "The option `${showOption loc}' in `${(b.elemAt opts 1).file}' is already declared in `${first.file}'.";

  applyArgs = args: f:
    f (args // b.mapAttrs (n: _: args.${n} or args.config._module.args.${n}) (b.functionArgs f));

  loadModule = args: file: m:
    let
      raw = if b.isPath m || b.isString m then import m else m;
      applied = if b.isFunction raw then applyArgs args raw else raw;
      v = if b.isAttrs applied then applied
        else throw "The module `${toString file}' is not a function or an attribute set; it is ${b.typeOf applied}.";
      thisFile = toString (v._file or file);
      special = [ "_file" "key" "disabledModules" "imports" "options" "config" "meta" "_class" "freeformType" ];
      extra = b.attrNames (b.removeAttrs v special);
    in
    {
      file = thisFile;
      imports = v.imports or [ ];
      disabledModules = v.disabledModules or [ ];
      options = v.options or { };
      config =
        if !(v ? config || v ? options) then b.removeAttrs v special
        else if extra != [ ] then
          throw "Module `${thisFile}' has an unsupported attribute `${b.head extra}'. This is caused by introducing a top-level `config' or `options' attribute. Add configuration attributes immediately on the top level instead, or move all of them (namely: ${b.concatStringsSep " " extra}) into the explicit `config' attribute."
        else v.config or { };
    };

  # Every module reachable through `imports`, each once (keyed by file for file modules).
  collect = args: file: modules:
    let
      entry = parentFile: key: m:
        let fromFile = b.isPath m || b.isString m; in
        { key = if fromFile then toString m else key; module = loadModule args (if fromFile then toString m else parentFile) m; };
      closure = b.genericClosure {
        startSet = lib.imap0 (i: m: entry file "${file}:anon-${toString i}" m) modules;
        operator = e: lib.imap0 (i: m: entry e.module.file "${e.key}:anon-${toString i}" m) e.module.imports;
      };
      resolveDisabled = d:
        if b.isString d && !(lib.hasPrefix "/" d) then "${toString args.modulesPath}/${d}" else toString d;
      disabled = map resolveDisabled (b.concatMap (e: e.module.disabledModules) closure);
    in
    map (e: e.module) (b.filter (e: !(b.elem e.key disabled)) closure);

  # The NixOS-style entry point: modules plus the arguments every module receives.
  evalModules = { modules, args }:
    let
      fullArgs = args // { inherit lib config; options = decls; };
      merger = make fullArgs;
      items = collect fullArgs "<unknown-file>" modules;
      decls = mergeDecls [ ] (map (m: { inherit (m) file; value = m.options; }) items);
      defs = map (m: { inherit (m) file; value = m.config; }) items;
      root = merger.mergeLoose [ ] decls defs;
      config = root.value;
    in
    { inherit config root decls defs; files = map (m: m.file) items; };
in
{ inherit evalModules showDefs; }
