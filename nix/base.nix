# managed by nixos-fleet: the fleet's base module, the same on every host.
# Reads the host's inventory data from ./host.nix (generated): SSH access, networking,
# garbage collection, and the free-form `nix.settings` of the inventory as a module.
{ lib, pkgs, ... }:
let
  host = import ./host.nix;
  net = host.network;
  staticAddress = net.ipv4Addresses != [ ] || net.ipv6Addresses != [ ];
in
{
  # The inventory's settings are a module of their own, so they merge with (and can override)
  # everything below through the usual NixOS priorities.
  imports = [ host.settings ];

  # Key-only SSH. The rollout logs in as host.ssh.user with its key, which the inventory always
  # lists among the authorized keys, so a rollout cannot lock itself out.
  services.openssh = {
    enable = true;
    openFirewall = true;
    settings = {
      PermitRootLogin = lib.mkDefault "prohibit-password";
      PasswordAuthentication = lib.mkDefault false;
      KbdInteractiveAuthentication = lib.mkDefault false;
    };
  };
  users.users = lib.listToAttrs [
    (lib.nameValuePair host.ssh.user { openssh.authorizedKeys.keys = host.ssh.authorizedKeys; })
  ];

  networking.hostName = host.hostName;
  networking.useDHCP = net.useDHCP;
  networking.interfaces = lib.optionalAttrs staticAddress (lib.listToAttrs [
    (lib.nameValuePair net.interface {
      ipv4.addresses = net.ipv4Addresses;
      ipv6.addresses = net.ipv6Addresses;
    })
  ]);
  networking.defaultGateway = lib.mkIf (net.gateway != null) net.gateway;
  networking.defaultGateway6 = lib.mkIf (net.gateway6 != null) net.gateway6;
  networking.nameservers = lib.mkIf (net.nameservers != [ ]) net.nameservers;

  # Old generations stay bootable for a month; the rollout's rollback needs the previous one.
  nix.gc = {
    automatic = lib.mkDefault true;
    dates = lib.mkDefault "weekly";
    options = lib.mkDefault "--delete-older-than 30d";
  };

  # Tools the health gates and an operator on the console reach for.
  environment.systemPackages = [
    pkgs.curl
    pkgs.jq
    pkgs.htop
  ];

  system.stateVersion = host.stateVersion;
}
