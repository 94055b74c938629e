# Attribute-set helpers of the lib stand-in (lib.attrsets.*, also re-exported at top level).
{ b, lists }:
rec {
  inherit (b) attrNames attrValues mapAttrs listToAttrs removeAttrs intersectAttrs catAttrs getAttr hasAttr zipAttrsWith;
  nameValuePair = name: value: { inherit name value; };
  mapAttrs' = f: set: b.listToAttrs (map (n: f n set.${n}) (b.attrNames set));
  mapAttrsToList = f: set: map (n: f n set.${n}) (b.attrNames set);
  attrsToList = mapAttrsToList nameValuePair;
  concatMapAttrs = f: set: b.foldl' (acc: x: acc // x) { } (mapAttrsToList f set);
  filterAttrs = pred: set: b.listToAttrs (b.concatMap (n: let v = set.${n}; in if pred n v then [ (nameValuePair n v) ] else [ ]) (b.attrNames set));
  filterAttrsRecursive = pred: set:
    b.listToAttrs (b.concatMap (n:
      let v = set.${n}; in
      if pred n v then [ (nameValuePair n (if b.isAttrs v then filterAttrsRecursive pred v else v)) ] else [ ]) (b.attrNames set));
  genAttrs = names: f: b.listToAttrs (map (n: nameValuePair n (f n)) names);
  optionalAttrs = cond: set: if cond then set else { };
  foldlAttrs = f: init: set: b.foldl' (acc: n: f acc n set.${n}) init (b.attrNames set);
  foldAttrs = op: nul: list:
    b.foldl' (acc: set: acc // b.mapAttrs (n: v: op v (acc.${n} or nul)) set) { } (lists.reverseList list);
  zipAttrs = zipAttrsWith (_: vs: vs);
  mergeAttrsList = b.foldl' (acc: x: acc // x) { };
  isDerivation = v: b.isAttrs v && (v.type or null) == "derivation";
  recursiveUpdateUntil = pred: lhs: rhs:
    let
      f = path: b.zipAttrsWith (n: values:
        let here = path ++ [ n ]; in
        if b.length values == 1 || pred here (b.elemAt values 1) (b.head values) then b.head values
        else f here values);
    in
    f [ ] [ rhs lhs ];
  recursiveUpdate = recursiveUpdateUntil (_: l: r: !(b.isAttrs l && b.isAttrs r));
  mapAttrsRecursiveCond = cond: f: set:
    let
      recurse = path: b.mapAttrs (n: v:
        if b.isAttrs v && cond v then recurse (path ++ [ n ]) v else f (path ++ [ n ]) v);
    in
    recurse [ ] set;
  mapAttrsRecursive = mapAttrsRecursiveCond (_: true);
  collect = pred: v:
    if pred v then [ v ] else if b.isAttrs v then b.concatMap (collect pred) (b.attrValues v) else [ ];
  attrByPath = path: default: set:
    if path == [ ] then set
    else if b.isAttrs set && set ? ${b.head path} then attrByPath (b.tail path) default set.${b.head path}
    else default;
  hasAttrByPath = path: set:
    if path == [ ] then true
    else b.isAttrs set && set ? ${b.head path} && hasAttrByPath (b.tail path) set.${b.head path};
  getAttrFromPath = path: set: b.foldl' (s: n: s.${n}) set path;
  setAttrByPath = path: value:
    if path == [ ] then value else { ${b.head path} = setAttrByPath (b.tail path) value; };
  getOutput = _: pkg: pkg;
  getBin = pkg: pkg;
  getLib = pkg: pkg;
  getDev = pkg: pkg;
  getMan = pkg: pkg;
  getExe = pkg: "${pkg}/bin/${pkg.meta.mainProgram or pkg.pname or (b.parseDrvName pkg.name).name}";
  getExe' = pkg: exe: "${pkg}/bin/${exe}";
}
