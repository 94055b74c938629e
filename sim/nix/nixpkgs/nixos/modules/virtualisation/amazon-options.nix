# The `ec2` options that NixOS declares for every system and amazon-image.nix reads.
{ lib, ... }:
{
  options.ec2 = {
    efi = lib.mkOption { type = lib.types.bool; default = false; description = "Whether the instance boots with UEFI."; };
    zfs.enable = lib.mkOption { type = lib.types.bool; default = false; description = "Whether the image's root is on ZFS."; };
  };
}
