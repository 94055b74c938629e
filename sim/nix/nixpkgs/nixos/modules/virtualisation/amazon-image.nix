# An Amazon EC2 instance (the module EC2 AMIs' configuration.nix imports): headless, GRUB on
# /dev/xvda (or EFI), the ENA driver, the serial console, sshd for the instance's key, the
# metadata fetcher, the SSM agent and Amazon's time server.
{ config, lib, pkgs, ... }:
let
  cfg = config.ec2;
in
{
  imports = [
    ../profiles/headless.nix
    ./amazon-options.nix
  ];

  boot.growPartition = true;

  fileSystems."/" = lib.mkIf (!cfg.zfs.enable) {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
    autoResize = true;
  };
  fileSystems."/boot" = lib.mkIf (cfg.efi || cfg.zfs.enable) {
    device = "/dev/disk/by-label/ESP";
    fsType = "vfat";
  };

  boot.extraModulePackages = [ config.boot.kernelPackages.ena ];
  boot.initrd.kernelModules = [ "xen-blkfront" ];
  boot.initrd.availableKernelModules = [ "nvme" ];
  boot.kernelParams = [ "console=ttyS0,115200n8" "random.trust_cpu=on" ];
  boot.blacklistedKernelModules = [ "nouveau" "xen_fbfront" ];

  boot.loader.grub.device = if cfg.efi then "nodev" else "/dev/xvda";
  boot.loader.grub.efiSupport = cfg.efi;
  boot.loader.grub.efiInstallAsRemovable = cfg.efi;
  boot.loader.timeout = 1;

  systemd.services.fetch-ec2-metadata = {
    wantedBy = [ "multi-user.target" ];
    after = [ "network-online.target" ];
    path = [ pkgs.curl ];
    # The real one fetches user data and SSH keys from 169.254.169.254.
    script = ''
      echo "fetching the instance metadata"
    '';
    serviceConfig.Type = "oneshot";
  };
  systemd.services."serial-getty@ttyS0".enable = true;

  services.amazon-ssm-agent.enable = true;
  services.openssh.enable = true;
  services.openssh.settings.PermitRootLogin = "prohibit-password";
  services.udev.packages = [ pkgs.amazon-ec2-utils ];

  # The instance takes its host name from EC2 unless the configuration sets one.
  networking.hostName = lib.mkDefault "";
  networking.timeServers = [ "169.254.169.123" ];

  environment.systemPackages = [ pkgs.cryptsetup ];
}
