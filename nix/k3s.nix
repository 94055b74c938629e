# managed by nixos-fleet: k3s from the inventory, the same on every host.
# Control-plane hosts run the k3s server, workers the agent. The join token is read from a
# file outside the Nix store; tokenFile is a string so the secret is never copied into it.
{ lib, pkgs, ... }:
let
  host = import ./host.nix;
  k3s = host.k3s;
  isServer = k3s.role == "server";
  # No --node-label: the inventory's labels (and taints) reach the Node through the API once
  # the host is healthy (a NodePatch per host), where removing one from the inventory removes it.
  flags = k3s.extraFlags ++ [ "--node-name=${host.nodeName}" ];
in
{
  services.k3s = lib.mkIf k3s.enable {
    enable = true;
    role = k3s.role;
    serverAddr = k3s.serverAddr;
    tokenFile = k3s.tokenFile;
    clusterInit = k3s.clusterInit;
    extraFlags = lib.concatStringsSep " " flags;
  };

  # API server and etcd peers on servers; kubelet and flannel VXLAN everywhere.
  networking.firewall.allowedTCPPorts = lib.mkIf k3s.enable ([ 10250 ] ++ lib.optionals isServer [ 6443 2379 2380 ]);
  networking.firewall.allowedUDPPorts = lib.mkIf k3s.enable [ 8472 ];

  environment.systemPackages = lib.optionals k3s.enable [
    pkgs.k3s
    pkgs.cri-tools
  ];
}
