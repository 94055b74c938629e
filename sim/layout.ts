/**
 * Where a simulated host keeps its files. Each host has a folder under .sim/hosts/<name>/;
 * inside the host's mount namespace the folders under fs/ are bind-mounted over the real
 * NixOS paths listed in HOST_MOUNTS, so programs on the host see /etc/nixos, /nix/store,
 * /run/current-system... exactly where NixOS keeps them.
 */
import * as path from "node:path";

/** Bind mounts of one host: per-host folder (relative to the host folder) → path on the host. */
export interface HostMount {
  readonly source: string;
  readonly target: string;
  /** The target is a file, not a folder. */
  readonly file?: true;
  /**
   * What on the machine owns the target: the fleet never creates it, and refuses to start
   * without it, naming the fix. /nix belongs to the machine's Nix installation, which writes
   * there itself (its database, store links), so a folder the fleet made could never be
   * removed cleanly again.
   */
  readonly ownedBy?: string;
}

/** What `scripts/setup.sh` does for the machine's Nix; named in the error when /nix is missing. */
const MACHINE_NIX = "the machine's Nix installation (Debian's nix-bin; `bash scripts/setup.sh` installs it and runs `nix-store --init`)";

/**
 * Bind mounts of one host: per-host folder (relative to the host folder) → path on the host.
 * Each host has the whole /nix/var/nix of its own (profiles, database, gcroots), as a NixOS
 * machine does, so no host and no fleet shares the Nix database of the machine running it.
 */
export const HOST_MOUNTS: readonly HostMount[] = [
  { source: "fs/etc-nixos", target: "/etc/nixos" },
  { source: "fs/store", target: "/nix/store", ownedBy: MACHINE_NIX },
  { source: "fs/nix-var", target: "/nix/var/nix", ownedBy: MACHINE_NIX },
  { source: "fs/boot", target: "/boot" },
  { source: "fs/var-lib", target: "/var/lib" },
  { source: "fs/run", target: "/run" },
  // k3s writes its kubeconfig (k3s.yaml) here; it outlives reboots as on a real server.
  { source: "fs/etc-rancher", target: "/etc/rancher" },
  { source: "fs/boot_id", target: "/proc/sys/kernel/random/boot_id", file: true },
  // What the booted kernel says about itself, written at each boot (hosttools/host-facts.ts).
  { source: "fs/kernel/cmdline", target: "/proc/cmdline", file: true },
  { source: "fs/kernel/proc-version", target: "/proc/version", file: true },
  { source: "fs/kernel/osrelease", target: "/proc/sys/kernel/osrelease", file: true },
  { source: "fs/kernel/version", target: "/proc/sys/kernel/version", file: true },
  // The running system's os-release (on Debian /etc/os-release is a link: the mount lands on its target).
  { source: "fs/os-release", target: "/etc/os-release", file: true },
];

/** Environment that sshd gives every session on a simulated host (sshd_config SetEnv). */
export const SESSION_PATH = "/run/wrappers/bin:/run/current-system/sw/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/** Names of the environment variables the host tools read. */
export const ENV = {
  host: "NIXOS_SIM_HOST", // the host's name
  hostDir: "NIXOS_SIM_HOST_DIR", // absolute .sim/hosts/<name>
  control: "NIXOS_SIM_CONTROL", // absolute path of the control socket
  toolsDir: "NIXOS_SIM_TOOLS", // absolute folder of the compiled host tools (dist/sim/hosttools)
  kubectl: "NIXOS_SIM_KUBECTL", // absolute path of the kubectl that k3s's `kubectl` runs (the control plane's release)
} as const;

/** Paths inside a host folder. */
export function hostPaths(hostDir: string) {
  const fs = (p: string) => path.join(hostDir, "fs", p);
  return {
    dir: hostDir,
    etcNixos: fs("etc-nixos"),
    store: fs("store"),
    nixVar: fs("nix-var"),
    profiles: fs("nix-var/profiles"),
    boot: fs("boot"),
    varLib: fs("var-lib"),
    run: fs("run"),
    etcRancher: fs("etc-rancher"),
    bootIdFile: fs("boot_id"),
    kernel: {
      cmdline: fs("kernel/cmdline"),
      procVersion: fs("kernel/proc-version"),
      osrelease: fs("kernel/osrelease"),
      version: fs("kernel/version"),
    },
    osRelease: fs("os-release"),
    sshd: path.join(hostDir, "sshd"),
    faults: path.join(hostDir, "faults.json"),
    info: path.join(hostDir, "host.json"),
  };
}

/**
 * Files a running host keeps under /run/nixos-sim/ (fs/run/nixos-sim/ from outside):
 * written by the fleet at boot, read by the host tools.
 *  - booted-at: milliseconds since the epoch when this boot finished
 */
export const RUN_SIM_DIR = "nixos-sim";
