/**
 * The /etc/nixos of a freshly installed simulated host: a configuration.nix importing a
 * generated hardware-configuration.nix, systemd-boot, OpenSSH with root key login, the
 * host name and a stateVersion.
 */
import { createHash } from "node:crypto";

export interface InitialConfigurationOptions {
  /** OpenSSH public key lines root accepts (the fleet's client key). */
  readonly authorizedKeys?: readonly string[];
  readonly stateVersion?: string;
  /**
   * The machine joined a k3s cluster when it was set up: a server (which makes its own token)
   * or an agent of `serverAddr` with the token in `tokenFile`.
   */
  readonly k3s?: { readonly role: "server" } | { readonly role: "agent"; readonly serverAddr: string; readonly tokenFile: string };
}

function k3sLines(k: NonNullable<InitialConfigurationOptions["k3s"]>): string {
  const lines = ["", "  services.k3s.enable = true;", `  services.k3s.role = ${JSON.stringify(k.role)};`];
  if (k.role === "agent") lines.push(`  services.k3s.serverAddr = ${JSON.stringify(k.serverAddr)};`, `  services.k3s.tokenFile = ${JSON.stringify(k.tokenFile)};`);
  return lines.join("\n") + "\n";
}

function uuidFrom(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function vfatIdFrom(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex").toUpperCase();
  return `${h.slice(0, 4)}-${h.slice(4, 8)}`;
}

/** Files relative to /etc/nixos with their contents. */
export function initialConfiguration(hostName: string, options: InitialConfigurationOptions = {}): Record<string, string> {
  const keys = (options.authorizedKeys ?? []).map((k) => `    ${JSON.stringify(k.trim())}\n`).join("");
  const configuration = `# The configuration of ${hostName}, as the installer left it.
# Run \`nixos-rebuild switch\` (or \`boot\`) after changing it.
{ config, lib, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = ${JSON.stringify(hostName)};
  time.timeZone = "UTC";

  services.openssh.enable = true;
  services.openssh.settings.PermitRootLogin = "prohibit-password";
  users.users.root.openssh.authorizedKeys.keys = [
${keys}  ];
${options.k3s === undefined ? "" : k3sLines(options.k3s)}
  environment.systemPackages = with pkgs; [ vim git curl ];

  # The release this machine was first installed with; leave it as it is.
  system.stateVersion = ${JSON.stringify(options.stateVersion ?? "24.05")};
}
`;
  const hardware = `# Generated at installation from the hardware found on ${hostName}.
# Changes here are overwritten when the hardware is scanned again.
{ config, lib, pkgs, modulesPath, ... }:

{
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];

  boot.initrd.availableKernelModules = [ "ahci" "xhci_pci" "virtio_pci" "virtio_scsi" "sd_mod" "sr_mod" ];
  boot.initrd.kernelModules = [ ];
  boot.kernelModules = [ "kvm-intel" ];
  boot.extraModulePackages = [ ];

  fileSystems."/" = {
    device = "/dev/disk/by-uuid/${uuidFrom(`${hostName}/root`)}";
    fsType = "ext4";
  };

  fileSystems."/boot" = {
    device = "/dev/disk/by-uuid/${vfatIdFrom(`${hostName}/boot`)}";
    fsType = "vfat";
    options = [ "fmask=0077" "dmask=0077" ];
  };

  swapDevices = [ ];

  networking.useDHCP = lib.mkDefault true;
  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
  hardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;
}
`;
  return { "configuration.nix": configuration, "hardware-configuration.nix": hardware };
}
