# The NixOS channel revision a simulated host evaluates against. The host tools find the
# revision the way Nix finds <nixpkgs> (-I entries, NIX_PATH, root's channels profile) and
# pass it in NIXOS_SIM_CHANNEL as JSON: { "channel": "nixos-24.11", "suffix": ".20241130.abc1234" }.
# Without it the first revision of the channel a host is installed with is used.
let
  wanted = builtins.getEnv "NIXOS_SIM_CHANNEL";
in
import ./channel-of.nix (if wanted == "" then null else builtins.fromJSON wanted)
