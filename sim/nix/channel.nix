# The NixOS channel revision a simulated host evaluates against. The host tools find the
# revision the way Nix finds <nixpkgs> (-I entries, NIX_PATH, root's channels profile) and
# pass it in NIXOS_SIM_CHANNEL as JSON: { "channel": "nixos-24.11", "suffix": ".20241130.abc1234" }.
# Without it the first revision of the channel a host is installed with is used.
let
  b = builtins;
  table = b.fromJSON (b.readFile ./channels.json);
  wanted = b.getEnv "NIXOS_SIM_CHANNEL";
  pin =
    if wanted == "" then { channel = table.installed; suffix = (b.head table.channels.${table.installed}.revisions).suffix; }
    else b.fromJSON wanted;
  channel = table.channels.${pin.channel}
    or (throw "channel '${pin.channel}' is not one of the simulated NixOS channels (sim/nix/channels.json)");
  matching = b.filter (r: r.suffix == pin.suffix) channel.revisions;
  revision =
    if matching == [ ] then throw "channel revision '${pin.suffix}' is not one of the simulated ${pin.channel} revisions (sim/nix/channels.json)"
    else b.head matching;
in
revision // {
  inherit (channel) release codeName;
  name = pin.channel;
  version = channel.release + revision.suffix;
}
