# flake.nix of the stand-in for github:NixOS/nixpkgs at one revision on a simulated host: a
# copy of sim/nix with this file as its flake.nix, pin.json naming the channel revision, and a
# channel.nix that reads it (a flake is evaluated in pure mode, where the environment is empty).
# sim/hosttools/flake.ts writes it and overrides the flake's nixpkgs inputs with it.
{
  description = "nixpkgs (simulated NixOS host)";
  outputs = { self }:
    let
      lib = import ./lib.nix;
      channel = import ./channel.nix;
      pkgs = import ./pkgs.nix { inherit lib channel; };
    in
    {
      lib = lib // { nixosSystem = import ./nixos-system.nix; };
      legacyPackages.x86_64-linux = pkgs;
      nixosModules.notDetected = ./nixpkgs/nixos/modules/installer/scan/not-detected.nix;
    };
}
