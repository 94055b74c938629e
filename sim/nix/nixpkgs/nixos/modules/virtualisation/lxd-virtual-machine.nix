# An LXD virtual machine, as the configuration of NixOS's LXD VM image imports it: a QEMU
# guest booted by systemd-boot from the disks labelled "nixos" and "ESP", its console on the
# serial port as well as the screen, and the LXD agent running.
{ lib, ... }:
{
  imports = [
    ./lxc-instance-common.nix
    ../profiles/qemu-guest.nix
  ];

  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
    autoResize = true;
  };
  fileSystems."/boot" = {
    device = "/dev/disk/by-label/ESP";
    fsType = "vfat";
  };

  boot.growPartition = true;
  boot.loader.systemd-boot.enable = true;
  # Only the image builder reads it; GRUB stays off under systemd-boot.
  boot.loader.grub.device = "/dev/vda";
  boot.kernelParams = [ "console=tty1" "console=ttyS0" ];

  virtualisation.lxd.agent.enable = lib.mkDefault true;
}
