# One revision of one simulated channel, given as { channel = "nixos-24.11"; suffix = ".20241130.abc1234"; },
# or null for the first revision of the channel a host is installed with. channel.nix finds the
# pin of a channel evaluation; a flake's stand-in nixpkgs (nixpkgs-flake.nix) has its own.
pin:
let
  b = builtins;
  table = b.fromJSON (b.readFile ./channels.json);
  wanted =
    if pin == null then { channel = table.installed; suffix = (b.head table.channels.${table.installed}.revisions).suffix; }
    else pin;
  channel = table.channels.${wanted.channel}
    or (throw "channel '${wanted.channel}' is not one of the simulated NixOS channels (sim/nix/channels.json)");
  matching = b.filter (r: r.suffix == wanted.suffix) channel.revisions;
  revision =
    if matching == [ ] then throw "channel revision '${wanted.suffix}' is not one of the simulated ${wanted.channel} revisions (sim/nix/channels.json)"
    else b.head matching;
in
revision // {
  inherit (channel) release codeName;
  name = wanted.channel;
  version = channel.release + revision.suffix;
}
