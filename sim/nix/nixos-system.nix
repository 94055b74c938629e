# `lib.nixosSystem` of a simulated nixpkgs flake (nixpkgs-flake.nix): the arguments NixOS's
# eval-config.nix takes, and a configuration whose `config.system.build.toplevel` is what the
# host tools build: eval.nix's summary instead of the system derivation.
{ system ? "x86_64-linux"
, modules
, specialArgs ? { }
, extraModules ? [ ]
, extraArgs ? { }
, pkgs ? null
, lib ? null
, baseModules ? null
, modulesLocation ? null
, check ? true
, prefix ? [ ]
}:
let
  evaluated = import ./evaluate.nix { modules = modules ++ extraModules; inherit specialArgs; };
  inherit (evaluated) config;
in
{
  _type = "configuration";
  inherit (evaluated) pkgs;
  config = config // {
    system = config.system // {
      build = (config.system.build or { }) // { toplevel = evaluated.summary; };
    };
  };
}
