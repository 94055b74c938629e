# What nixos-generate-config imports when it finds hardware it has no module for.
{ lib, ... }:
{
  hardware.enableRedistributableFirmware = lib.mkDefault true;
}
