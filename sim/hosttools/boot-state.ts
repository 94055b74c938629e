/**
 * Helpers for the fleet, which plays the hardware from outside the host's namespaces:
 * which system the boot loader boots, and the /run a booted host starts with. Paths are
 * those of the host folder (sim/layout.ts hostPaths), not the host's view.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { hostPaths } from "../layout";
import type { SimTimings } from "../types";
import { linkOsRelease, writeKernelFacts } from "./host-facts";
import { readBootDefault, type BootDefault } from "./loader";
import { HOST, RUN_SIM_FILES } from "./paths";
import { readSystemInfo, type SystemInfo } from "./system-info";

/** Where a host store path lives in the host folder. */
export function hostStorePath(hostDir: string, storePath: string): string {
  if (!storePath.startsWith(`${HOST.store}/`)) throw new Error(`${storePath} is not a store path`);
  return path.join(hostPaths(hostDir).store, storePath.slice(HOST.store.length + 1));
}

/** The default boot entry of a host and the record of the system it boots. */
export interface BootTarget {
  readonly entry: BootDefault;
  readonly info: SystemInfo;
}

/** What the host boots next, or undefined when its boot loader is not installed. */
export function readBootTarget(hostDir: string): BootTarget | undefined {
  const entry = readBootDefault(hostPaths(hostDir).boot);
  if (!entry) return undefined;
  return { entry, info: readSystemInfo(hostStorePath(hostDir, entry.system)) };
}

export interface BootState {
  /** Store path of the booted system (from the boot entry's init=). */
  readonly system: string;
  readonly bootedAtMs: number;
  readonly timings: SimTimings;
}

/**
 * Gives a host the /run of a fresh boot: emptied (it is a tmpfs on NixOS), then
 * /run/current-system and /run/booted-system → the system, and /run/nixos-sim/booted-at
 * and timings.json for systemctl. The kernel of the system is now the running one
 * (/proc/cmdline, uname), and /etc/os-release is the system's.
 */
export function writeBootState(hostDir: string, state: BootState): void {
  const storeRoot = (p: string) => hostStorePath(hostDir, p);
  writeKernelFacts(hostDir, state.system, storeRoot);
  linkOsRelease(hostDir, state.system, storeRoot);
  const run = hostPaths(hostDir).run;
  fs.mkdirSync(run, { recursive: true });
  for (const name of fs.readdirSync(run)) fs.rmSync(path.join(run, name), { recursive: true, force: true });
  fs.symlinkSync(state.system, path.join(run, "current-system"));
  fs.symlinkSync(state.system, path.join(run, "booted-system"));
  const sim = path.join(run, path.basename(HOST.runSim));
  fs.mkdirSync(sim);
  fs.writeFileSync(path.join(sim, RUN_SIM_FILES.bootedAt), String(state.bootedAtMs));
  fs.writeFileSync(path.join(sim, RUN_SIM_FILES.timings), `${JSON.stringify(state.timings)}\n`);
}
