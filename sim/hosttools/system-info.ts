/**
 * What a built system records about itself, for the tools on the host and for the fleet:
 * `<system>/etc/nixos-sim/system.json`, next to the bootspec `<system>/boot.json`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Relative to a system's store path. */
export const SYSTEM_INFO_FILE = "etc/nixos-sim/system.json";
export const SYSTEM_CONFIG_FILE = "etc/nixos-sim/config.json";
export const BOOTSPEC_FILE = "boot.json";

/** `<system>/etc/nixos-sim/system.json`. Store paths are as seen on the host. */
export interface SystemInfo {
  readonly system: string;
  readonly hostName: string;
  readonly nixosVersion: string;
  readonly codeName: string;
  readonly revision: string | null;
  readonly label: string;
  readonly kernelVersion: string;
  /** The kernel image (…-linux-<version>/bzImage). */
  readonly kernel: string;
  /** The initrd image (…-initrd-linux-<version>/initrd). */
  readonly initrd: string;
  readonly kernelModules: string;
  readonly kernelParams: readonly string[];
  /** systemd units the system runs, and those of them that fail (see units.ts). */
  readonly units: readonly string[];
  readonly failingUnits: readonly string[];
  readonly systemPackages: readonly string[];
}

/** The bootspec (org.nixos.bootspec.v1) of a system, as NixOS writes it to boot.json. */
export interface Bootspec {
  readonly "org.nixos.bootspec.v1": {
    readonly init: string;
    readonly initrd: string;
    readonly kernel: string;
    readonly kernelParams: readonly string[];
    readonly label: string;
    readonly system: string;
    readonly toplevel: string;
  };
  readonly "org.nixos.specialisation.v1": Readonly<Record<string, unknown>>;
}

/**
 * Reads a system's record. `systemDir` is where the caller can reach the system: the store
 * path itself on the host, or the same path under the host folder's fs/store from outside.
 */
export function readSystemInfo(systemDir: string): SystemInfo {
  const file = path.join(systemDir, SYSTEM_INFO_FILE);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as SystemInfo;
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message} (is ${systemDir} a system built by the simulated nixos-rebuild?)`);
  }
}

/** Reads a system's bootspec. */
export function readBootspec(systemDir: string): Bootspec["org.nixos.bootspec.v1"] {
  const file = path.join(systemDir, BOOTSPEC_FILE);
  try {
    return (JSON.parse(fs.readFileSync(file, "utf8")) as Bootspec)["org.nixos.bootspec.v1"];
  } catch (e) {
    throw new Error(`cannot read the bootspec ${file}: ${(e as Error).message}`);
  }
}
