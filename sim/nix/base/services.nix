# Services, programs and virtualisation options of the simulated NixOS. Every service a
# Kubernetes node commonly runs gets an `enable` option (so `mkIf config.services.x.enable`
# works as on NixOS); k3s, the NixOS Kubernetes modules, OpenSSH and systemd services get
# the options rollouts set.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkIf mkDefault types genAttrs;
  opt = type: default: mkOption { inherit type default; };
  enable = opt types.bool false;
  enableOnly = names: genAttrs names (_: { enable = enable; });
  k8s = config.services.kubernetes;
  hasRole = role: lib.elem role k8s.roles;

  # systemd's own merge for unit settings: lists concatenate, other values must agree.
  unitOption = {
    _type = "option-type";
    name = "systemd option";
    description = "systemd option";
    check = _: true;
    merge = "unitOption";
    elemType = null;
  };
  unitSettings = opt (types.attrsOf unitOption) { };
  unitList = opt (types.listOf types.str) [ ];
  service = { name, ... }: {
    options = {
      enable = opt types.bool true;
      description = opt types.str "";
      wantedBy = unitList;
      requiredBy = unitList;
      after = unitList;
      before = unitList;
      wants = unitList;
      requires = unitList;
      path = opt (types.listOf (types.either types.package types.str)) [ ];
      environment = opt (types.attrsOf (types.nullOr (types.either types.str types.package))) { };
      serviceConfig = unitSettings;
      unitConfig = unitSettings;
      script = opt types.lines "";
      preStart = opt types.lines "";
      postStart = opt types.lines "";
      restartIfChanged = opt types.bool true;
    };
  };
in
{
  options = {
    services = enableOnly [
      "avahi" "ceph" "chrony" "cockpit" "consul" "cron" "dnsmasq" "docker-registry" "etcd" "fail2ban"
      "fstrim" "fwupd" "gitea" "grafana" "haproxy" "iperf3" "jenkins" "keepalived" "loki" "minio"
      "multipath" "mysql" "netdata" "nginx" "nomad" "ntp" "openiscsi" "postgresql" "printing"
      "promtail" "qemuGuest" "resolved" "rke2" "rpcbind" "samba" "smartd" "syncthing" "tailscale"
      "telegraf" "thermald" "tlp" "udisks2" "vault" "xserver" "zerotierone"
    ] // lib.recursiveUpdate { prometheus.enable = enable; } {
      timesyncd.enable = opt types.bool true;
      lvm.enable = opt types.bool true;
      nfs.server.enable = enable;
      prometheus.exporters.node.enable = enable;
      openssh = {
        enable = enable;
        ports = opt (types.listOf types.port) [ 22 ];
        openFirewall = opt types.bool true;
        extraConfig = opt types.lines "";
        settings = {
          PermitRootLogin = opt (types.enum [ "yes" "without-password" "prohibit-password" "forced-commands-only" "no" ]) "prohibit-password";
          PasswordAuthentication = opt types.bool true;
          KbdInteractiveAuthentication = opt types.bool true;
        };
      };
      k3s = {
        enable = enable;
        package = opt types.package pkgs.k3s;
        role = opt (types.enum [ "server" "agent" ]) "server";
        serverAddr = opt types.str "";
        token = opt types.str "";
        tokenFile = opt (types.nullOr types.path) null;
        clusterInit = enable;
        disableAgent = enable;
        extraFlags = opt (types.either types.str (types.listOf types.str)) "";
        configPath = opt (types.nullOr types.path) null;
        environmentFile = opt (types.nullOr types.path) null;
      };
      kubernetes = {
        roles = opt (types.listOf (types.enum [ "master" "node" ])) [ ];
        package = opt types.package pkgs.kubernetes;
        masterAddress = opt types.str "";
        apiserverAddress = opt (types.nullOr types.str) null;
        easyCerts = enable;
        clusterCidr = opt (types.nullOr types.str) "10.1.0.0/16";
        kubelet.enable = enable;
        apiserver.enable = enable;
        controllerManager.enable = enable;
        scheduler.enable = enable;
        proxy.enable = enable;
        addonManager.enable = enable;
        flannel.enable = enable;
      };
    };
    programs = enableOnly [
      "bash" "fish" "git" "htop" "mtr" "neovim" "nix-ld" "tmux" "vim" "zsh" "iftop" "iotop" "wireshark"
    ] // {
      command-not-found.enable = opt types.bool true;
      ssh.startAgent = enable;
    };
    virtualisation = enableOnly [ "docker" "podman" "containerd" "libvirtd" "cri-o" "lxd" ];
    systemd = {
      services = opt (types.attrsOf (types.submodule service)) { };
      tmpfiles.rules = unitList;
      extraConfig = opt types.lines "";
    };
  };

  config = {
    environment.systemPackages =
      lib.optional config.services.k3s.enable config.services.k3s.package
      ++ lib.optional (k8s.roles != [ ]) k8s.package;
    services.kubernetes = {
      kubelet.enable = mkIf (hasRole "node") (mkDefault true);
      proxy.enable = mkIf (k8s.roles != [ ]) (mkDefault true);
      flannel.enable = mkIf (k8s.roles != [ ]) (mkDefault true);
      apiserver.enable = mkIf (hasRole "master") (mkDefault true);
      controllerManager.enable = mkIf (hasRole "master") (mkDefault true);
      scheduler.enable = mkIf (hasRole "master") (mkDefault true);
      addonManager.enable = mkIf (hasRole "master") (mkDefault true);
    };
    services.etcd.enable = mkIf (hasRole "master") (mkDefault true);
    virtualisation.containerd.enable = mkIf k8s.kubelet.enable (mkDefault true);
  };
}
