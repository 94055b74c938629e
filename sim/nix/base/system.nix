# System-wide options of the simulated NixOS: identity, networking, packages, users,
# hardware, nix settings. Only options that modules commonly read (config.x.y) or that
# need a non-default merge (lines, lists) are declared; everything else merges loosely.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  opt = type: default: mkOption { inherit type default; };
  enable = opt types.bool false;
  strList = opt (types.listOf types.str) [ ];
  channel = import ../channel.nix;

  user = { name, ... }: {
    options = {
      name = opt types.str name;
      isNormalUser = enable;
      isSystemUser = enable;
      description = opt types.str "";
      uid = opt (types.nullOr types.int) null;
      group = opt types.str "";
      extraGroups = strList;
      home = opt types.str (if name == "root" then "/root" else "/home/${name}");
      createHome = enable;
      shell = opt (types.nullOr (types.either types.package types.path)) null;
      packages = opt (types.listOf types.package) [ ];
      hashedPassword = opt (types.nullOr types.str) null;
      initialPassword = opt (types.nullOr types.str) null;
      password = opt (types.nullOr types.str) null;
      openssh.authorizedKeys = {
        keys = strList;
        keyFiles = opt (types.listOf types.path) [ ];
      };
    };
  };
  group = { name, ... }: {
    options = {
      name = opt types.str name;
      gid = opt (types.nullOr types.int) null;
      members = strList;
    };
  };
in
{
  options = {
    networking = {
      hostName = opt (types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$") "nixos";
      domain = opt (types.nullOr types.str) null;
      hostId = opt (types.nullOr types.str) null;
      useDHCP = opt types.bool true;
      enableIPv6 = opt types.bool true;
      nameservers = strList;
      search = strList;
      extraHosts = opt types.lines "";
      hosts = opt (types.attrsOf (types.listOf types.str)) { };
      networkmanager.enable = enable;
      nftables.enable = enable;
      firewall = {
        enable = opt types.bool true;
        allowPing = opt types.bool true;
        allowedTCPPorts = opt (types.listOf types.port) [ ];
        allowedUDPPorts = opt (types.listOf types.port) [ ];
        allowedTCPPortRanges = opt (types.listOf types.attrs) [ ];
        allowedUDPPortRanges = opt (types.listOf types.attrs) [ ];
        trustedInterfaces = strList;
        extraCommands = opt types.lines "";
      };
    };
    time.timeZone = opt (types.nullOr types.str) null;
    i18n.defaultLocale = opt types.str "en_US.UTF-8";
    console.keyMap = opt types.str "us";
    system = {
      stateVersion = opt types.str channel.release;
      configurationRevision = opt (types.nullOr types.str) null;
      nixos = {
        release = opt types.str channel.release;
        codeName = opt types.str channel.codeName;
        versionSuffix = opt types.str channel.suffix;
        revision = opt (types.nullOr types.str) channel.rev;
        version = opt types.str channel.version;
        label = opt types.str config.system.nixos.version;
        tags = strList;
      };
      autoUpgrade.enable = enable;
    };
    nixpkgs = {
      hostPlatform = opt (types.either types.str types.attrs) "x86_64-linux";
      system = opt types.str "x86_64-linux";
      overlays = opt (types.listOf types.unspecified) [ ];
    };
    nix = {
      enable = opt types.bool true;
      package = opt types.package pkgs.nix;
      extraOptions = opt types.lines "";
      nixPath = strList;
      gc.automatic = enable;
      optimise.automatic = enable;
    };
    environment = {
      systemPackages = opt (types.listOf types.package) [ ];
      defaultPackages = opt (types.listOf types.package) [ ];
      shellInit = opt types.lines "";
      loginShellInit = opt types.lines "";
      interactiveShellInit = opt types.lines "";
    };
    users = {
      mutableUsers = opt types.bool true;
      users = opt (types.attrsOf (types.submodule user)) { };
      groups = opt (types.attrsOf (types.submodule group)) { };
    };
    security = {
      sudo.enable = opt types.bool true;
      sudo.wheelNeedsPassword = opt types.bool true;
      polkit.enable = enable;
      apparmor.enable = enable;
    };
    hardware = {
      enableRedistributableFirmware = enable;
      enableAllFirmware = enable;
      cpu.intel.updateMicrocode = enable;
      cpu.amd.updateMicrocode = enable;
    };
    documentation = {
      enable = opt types.bool true;
      man.enable = opt types.bool true;
      nixos.enable = opt types.bool true;
    };
    zramSwap.enable = enable;
    assertions = opt (types.listOf types.unspecified) [ ];
    warnings = opt (types.listOf types.str) [ ];
  };

  config = {
    users.users.root = { uid = 0; group = "root"; };
  };
}
