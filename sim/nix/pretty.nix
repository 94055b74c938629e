# Renders a Nix value the way NixOS shows definition values in its error messages
# (multi-line lists and attribute sets, quoted strings, <derivation name>).
let
  b = builtins;
  indentOf = depth: b.concatStringsSep "" (b.genList (_: "  ") depth);
  go = depth: v:
    let
      pad = indentOf (depth + 1);
      close = indentOf depth;
    in
    if depth > 6 then "<elided>"
    else if b.isString v then
      (if b.match ".*\n.*" v != null
      then "''\n${pad}${b.replaceStrings [ "\n" ] [ "\n${pad}" ] v}''"
      else b.toJSON v)
    else if b.isInt v || b.isFloat v then toString v
    else if b.isBool v then (if v then "true" else "false")
    else if v == null then "null"
    else if b.isPath v then toString v
    else if b.isFunction v then "<function>"
    else if b.isList v then
      (if v == [ ] then "[ ]" else "[\n${b.concatStringsSep "" (map (x: "${pad}${go (depth + 1) x}\n") v)}${close}]")
    else if (v.type or null) == "derivation" then "<derivation ${v.name or "???"}>"
    else if v == { } then "{ }"
    else "{\n${b.concatStringsSep "" (map (n: "${pad}${n} = ${go (depth + 1) v.${n}};\n") (b.attrNames v))}${close}}";
in
go 0
