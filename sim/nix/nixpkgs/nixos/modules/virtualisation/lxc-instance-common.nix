# What NixOS's LXC/LXD instances share (containers and virtual machines alike): the minimal
# profile with its documentation brought back, root without a password until one is set, and
# sshd started on demand.
{ lib, ... }:
{
  imports = [ ../profiles/minimal.nix ];

  users.users.root.initialHashedPassword = lib.mkOverride 150 "";

  services.openssh.enable = lib.mkDefault true;
  services.openssh.startWhenNeeded = lib.mkDefault true;

  # Above the minimal profile's mkDefault, below a plain definition.
  documentation.enable = lib.mkOverride 890 true;
  documentation.nixos.enable = lib.mkOverride 890 true;
  services.logrotate.enable = true;
}
