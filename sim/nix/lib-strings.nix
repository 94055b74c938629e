# String helpers of the lib stand-in (lib.strings.*, also re-exported at top level).
{ b }:
let
  concatMapStrings = f: l: b.concatStringsSep "" (map f l);
  lowerChars = b.genList (i: b.substring i 1 "abcdefghijklmnopqrstuvwxyz") 26;
  upperChars = b.genList (i: b.substring i 1 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") 26;
  splitString = sep: s:
    b.filter b.isString (b.split (escapeRegex sep) s);
  escapeRegex = b.replaceStrings
    [ "\\" "[" "]" "{" "}" "(" ")" "^" "$" "." "|" "*" "+" "?" ]
    [ "\\\\" "\\[" "\\]" "\\{" "\\}" "\\(" "\\)" "\\^" "\\$" "\\." "\\|" "\\*" "\\+" "\\?" ];
  hasPrefix = pre: s: b.substring 0 (b.stringLength pre) s == pre;
  hasSuffix = suf: s:
    let
      ls = b.stringLength s;
      lf = b.stringLength suf;
    in
    lf <= ls && b.substring (ls - lf) lf s == suf;
  escapeShellArg = arg:
    let s = toString arg; in
    if b.match "[[:alnum:],._+:@%/-]+" s != null then s
    else "'${b.replaceStrings [ "'" ] [ "'\\''" ] s}'";
  makeSearchPath = sub: paths: b.concatStringsSep ":" (map (p: "${toString p}/${sub}") paths);
  trim = s:
    let m = b.match "[[:space:]]*(.*[^[:space:]])[[:space:]]*" s; in
    if m == null then "" else b.head m;
in
rec {
  inherit concatMapStrings splitString hasPrefix hasSuffix escapeShellArg makeSearchPath escapeRegex trim;
  concatStrings = b.concatStringsSep "";
  concatStringsSep = b.concatStringsSep;
  concatMapStringsSep = sep: f: l: b.concatStringsSep sep (map f l);
  concatImapStringsSep = sep: f: l: b.concatStringsSep sep (b.genList (i: f (i + 1) (b.elemAt l i)) (b.length l));
  concatLines = l: concatMapStrings (s: s + "\n") l;
  optionalString = cond: s: if cond then s else "";
  hasInfix = infix: s: b.match ".*${escapeRegex infix}.*" s != null;
  removePrefix = pre: s: if hasPrefix pre s then b.substring (b.stringLength pre) (b.stringLength s) s else s;
  removeSuffix = suf: s:
    if hasSuffix suf s then b.substring 0 (b.stringLength s - b.stringLength suf) s else s;
  toLower = b.replaceStrings upperChars lowerChars;
  toUpper = b.replaceStrings lowerChars upperChars;
  stringToCharacters = s: b.genList (i: b.substring i 1 s) (b.stringLength s);
  escape = chars: b.replaceStrings chars (map (c: "\\${c}") chars);
  escapeShellArgs = l: b.concatStringsSep " " (map escapeShellArg l);
  makeBinPath = makeSearchPath "bin";
  makeLibraryPath = makeSearchPath "lib";
  toInt = s:
    let m = b.match "[[:space:]]*(-?[0-9]+)[[:space:]]*" s; in
    if m == null then throw "Could not convert ${s} to int." else b.fromJSON (b.head m);
  toIntBase10 = toInt;
  fileContents = path: removeSuffix "\n" (b.readFile path);
  fixedWidthString = width: filler: s:
    let n = width - b.stringLength s; in
    if n <= 0 then s else concatStrings (b.genList (_: filler) n) + s;
  fixedWidthNumber = width: n: fixedWidthString width "0" (toString n);
  intersperse = sep: l:
    if l == [ ] then [ ] else b.tail (b.concatMap (x: [ sep x ]) l);
  versionOlder = v1: v2: b.compareVersions v2 v1 == 1;
  versionAtLeast = v1: v2: b.compareVersions v1 v2 != -1;
  getName = x: if b.isString x then (b.parseDrvName x).name else x.pname or (b.parseDrvName x.name).name;
  getVersion = x: if b.isString x then (b.parseDrvName x).version else x.version or (b.parseDrvName x.name).version;
  isStringLike = v: b.isString v || b.isPath v || (b.isAttrs v && v ? outPath);
  sanitizeDerivationName = s: b.replaceStrings [ "/" " " ] [ "-" "-" ] s;
}
