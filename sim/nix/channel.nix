# The NixOS channel revision a simulated host evaluates against. The host tools read the
# host's channel profile and pass its version suffix in NIXOS_SIM_CHANNEL; without it the
# first revision of channels.json is used (a freshly installed host).
let
  b = builtins;
  table = b.fromJSON (b.readFile ./channels.json);
  wanted = b.getEnv "NIXOS_SIM_CHANNEL";
  matching = b.filter (r: r.suffix == wanted) table.revisions;
  revision =
    if wanted == "" then b.head table.revisions
    else if matching == [ ] then throw "channel revision '${wanted}' is not one of the simulated NixOS ${table.release} revisions (sim/nix/channels.json)"
    else b.head matching;
in
revision // {
  inherit (table) release codeName;
  version = table.release + revision.suffix;
}
