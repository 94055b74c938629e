/**
 * The store closure of a simulated system. Real Nix knows a system's closure and each path's
 * NAR size from its database; the simulated store has no database, so the build records the
 * closure in the system itself (CLOSURE_FILE), which only the simulated `nix` reads. It models
 * what `nix store diff-closures` looks at: the system's toplevel, the kernel (with its modules
 * output) and initrd, system-path and every package of environment.systemPackages, with
 * invented sizes that depend only on each path's name, so that equal packages weigh the same.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SystemPlan } from "./plan";
import { storeHash } from "./storehash";

/** Relative to a system's store path. */
export const CLOSURE_FILE = "etc/nixos-sim/closure.json";

/** One store path of a closure and its NAR size in bytes. */
export interface ClosurePath {
  readonly path: string;
  readonly narSize: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** A size between `min` and `max` bytes, a multiple of 8 (as NAR sizes are), fixed by `name`. */
export function inventedSize(name: string, min: number, max: number): number {
  const n = createHash("sha256").update(`nar-size\0${name}`).digest().readUInt32BE(0);
  return Math.floor((min + (n % (max - min))) / 8) * 8;
}

/** The name part of a store path (after its hash). */
export function storePathName(storePath: string): string {
  const base = path.posix.basename(storePath);
  return base.slice(base.indexOf("-") + 1);
}

/** The closure of the system `plan` builds. */
export function closureOf(plan: SystemPlan): ClosurePath[] {
  const store = path.posix.dirname(plan.system.path);
  const packages = [...new Set(plan.systemPackages)].sort();
  const sized = (p: string, min: number, max: number): ClosurePath => ({ path: p, narSize: inventedSize(storePathName(p), min, max) });
  return [
    // The toplevel holds links and a few scripts; its size follows its name only.
    sized(plan.system.path, 24 * KiB, 40 * KiB),
    sized(plan.kernel.path, 10 * MiB, 14 * MiB),
    sized(plan.modules.path, 90 * MiB, 120 * MiB),
    sized(plan.initrd.path, 8 * MiB, 12 * MiB),
    // The links of environment.systemPackages: it grows with each package.
    { path: path.posix.join(store, `${storeHash("system-path", packages)}-system-path`), narSize: 48 * KiB + packages.length * 8 * KiB },
    ...packages.map((name) => sized(path.posix.join(store, `${storeHash("package", name)}-${name}`), 64 * KiB, 8 * MiB)),
  ];
}

/** Reads the closure a system recorded. `systemDir` as readSystemInfo takes it. */
export function readClosure(systemDir: string): ClosurePath[] {
  return JSON.parse(fs.readFileSync(path.join(systemDir, CLOSURE_FILE), "utf8")) as ClosurePath[];
}
