# `import <nixpkgs> { }` on a simulated host: the simulated package set of the host's channel.
{ ... }:
import ../pkgs.nix { lib = import ../lib.nix; channel = import ../channel.nix; }
