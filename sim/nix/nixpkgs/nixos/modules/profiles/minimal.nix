# A smaller system: no documentation, no command-not-found.
{ lib, ... }:
{
  documentation.enable = lib.mkDefault false;
  documentation.man.enable = lib.mkDefault false;
  documentation.nixos.enable = lib.mkDefault false;
  programs.command-not-found.enable = lib.mkDefault false;
}
