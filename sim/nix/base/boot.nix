# Boot options of the simulated NixOS (kernel, initrd, boot loaders, file systems), with
# the defaults and the two assertions of the real modules that most often catch a broken
# configuration: no root file system, and GRUB enabled without a device.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkIf mkDefault types;
  opt = type: default: mkOption { inherit type default; };
  enable = opt types.bool false;
  strList = opt (types.listOf types.str) [ ];
  cfg = config.boot;

  fileSystem = { name, ... }: {
    options = {
      mountPoint = opt types.str name;
      device = opt (types.nullOr types.str) null;
      label = opt (types.nullOr types.str) null;
      fsType = opt types.str "auto";
      options = opt (types.nonEmptyListOf types.str) [ "defaults" ];
      neededForBoot = enable;
      depends = strList;
      autoFormat = enable;
      autoResize = enable;
      noCheck = enable;
    };
  };
in
{
  options = {
    boot = {
      kernelPackages = opt types.raw pkgs.linuxPackages;
      kernelPatches = opt (types.listOf types.attrs) [ ];
      kernelParams = opt (types.listOf types.str) [ ];
      kernelModules = strList;
      extraModulePackages = opt (types.listOf types.package) [ ];
      blacklistedKernelModules = strList;
      extraModprobeConfig = opt types.lines "";
      consoleLogLevel = opt types.int 4;
      isContainer = enable;
      initrd = {
        availableKernelModules = strList;
        kernelModules = strList;
        includeDefaultModules = opt types.bool true;
        verbose = opt types.bool true;
        systemd.enable = enable;
        network.enable = enable;
        preLVMCommands = opt types.lines "";
        postDeviceCommands = opt types.lines "";
        postMountCommands = opt types.lines "";
      };
      loader = {
        timeout = opt (types.nullOr types.int) 5;
        systemd-boot = {
          enable = enable;
          configurationLimit = opt (types.nullOr types.int) null;
          editor = opt types.bool true;
          consoleMode = opt types.str "keep";
        };
        efi = {
          canTouchEfiVariables = enable;
          efiSysMountPoint = opt types.str "/boot";
        };
        grub = {
          enable = opt types.bool true;
          device = opt types.str "";
          devices = opt (types.listOf types.str) [ ];
          mirroredBoots = opt (types.listOf types.attrs) [ ];
          efiSupport = enable;
          efiInstallAsRemovable = enable;
          useOSProber = enable;
          configurationLimit = opt types.int 100;
          extraConfig = opt types.lines "";
        };
        generic-extlinux-compatible.enable = enable;
      };
      tmp = {
        cleanOnBoot = enable;
        useTmpfs = enable;
      };
    };
    fileSystems = opt (types.attrsOf (types.submodule fileSystem)) { };
    swapDevices = opt (types.listOf types.attrs) [ ];
  };

  config = {
    boot.kernelParams = [ "loglevel=${toString cfg.consoleLogLevel}" ];
    boot.loader.grub.enable = mkIf (cfg.loader.systemd-boot.enable || cfg.loader.generic-extlinux-compatible.enable) (mkDefault false);
    boot.loader.grub.devices = mkIf (cfg.loader.grub.device != "") [ cfg.loader.grub.device ];
    assertions = [
      {
        assertion = cfg.isContainer || config.fileSystems ? "/";
        message = "The ‘fileSystems’ option does not specify your root file system.";
      }
      {
        assertion = !cfg.loader.grub.enable || cfg.loader.grub.devices != [ ] || cfg.loader.grub.mirroredBoots != [ ];
        message = "You must set the option ‘boot.loader.grub.devices’ or 'boot.loader.grub.mirroredBoots' to make the system bootable.";
      }
    ];
  };
}
