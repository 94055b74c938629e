# An example of the user's own module, listed in the inventory's nix.imports and shipped to
# every host under /etc/nixos/fleet/user/.
{ ... }:
{
  services.prometheus.exporters.node = {
    enable = true;
    openFirewall = true;
    enabledCollectors = [ "systemd" ];
  };
}
