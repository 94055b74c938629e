# `<nixpkgs/nixos>` is what the real nixos-rebuild evaluates; on a simulated host the host
# tools evaluate sim/nix/eval.nix instead, so importing it from a configuration is refused.
throw "<nixpkgs/nixos> cannot be imported from a configuration on a simulated NixOS host"
