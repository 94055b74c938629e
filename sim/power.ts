/**
 * What a simulated host's hardware does at power-on: read the boot loader's default entry,
 * start with a fresh boot_id and an empty /run, and lay out what NixOS's stage 2 leaves in
 * /run (current-system, booted-system) plus the files the host tools read.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostStorePath, readBootTarget, readSystemInfo, writeBootState } from "./hosttools/index";
import { takeOneShot, writeEfiVar } from "./hosttools/efivars";
import { readBootEntry } from "./hosttools/loader";
import { hostPaths } from "./layout";
import { LOADER_CONF, LOADER_ENTRIES } from "./protocol";
import type { SimTimings } from "./types";

/** A host that cannot boot: no loader entry, or the entry names a system that is not in the store. */
export class BootError extends Error {
  constructor(readonly host: string, message: string) {
    super(`${host} cannot boot: ${message}`);
    this.name = "BootError";
  }
}

/**
 * The system the boot loader boots (store path as the host sees it): the one-shot entry when
 * one is set (LoaderEntryOneShot, deleted as systemd-boot deletes it, so the boot after this
 * one returns to the default) and bootable, else the default entry. The entry booted is left
 * in LoaderEntrySelected. When nothing is bootable, the loader files are examined here to say
 * precisely what is wrong.
 */
export function chooseSystem(host: string, hostDir: string): string {
  const oneShot = takeOneShot(hostDir);
  const once = oneShot === undefined ? undefined : readBootEntry(hostPaths(hostDir).boot, oneShot);
  if (once && bootable(hostDir, once.system)) {
    writeEfiVar(hostDir, "LoaderEntrySelected", path.basename(once.entryFile));
    return once.system;
  }
  const system = chooseDefault(host, hostDir);
  const def = readBootTarget(hostDir);
  writeEfiVar(hostDir, "LoaderEntrySelected", def ? path.basename(def.entry.entryFile) : undefined);
  return system;
}

/** Whether the system an entry names is in the host's store. */
function bootable(hostDir: string, system: string): boolean {
  try {
    readSystemInfo(hostStorePath(hostDir, system));
    return true;
  } catch {
    return false;
  }
}

function chooseDefault(host: string, hostDir: string): string {
  let target: ReturnType<typeof readBootTarget>;
  try {
    target = readBootTarget(hostDir);
  } catch (error) {
    diagnoseBootLoader(host, hostDir);
    throw new BootError(host, error instanceof Error ? error.message : String(error));
  }
  if (target) return target.entry.system;
  diagnoseBootLoader(host, hostDir);
  throw new BootError(host, `the boot loader under /boot has no usable default entry`);
}

/** Throws a BootError naming what is wrong with /boot/loader (systemd-boot layout); returns when it finds nothing. */
export function diagnoseBootLoader(host: string, hostDir: string): void {
  const p = hostPaths(hostDir);
  const conf = path.join(p.boot, LOADER_CONF);
  if (!fs.existsSync(conf)) throw new BootError(host, `/boot/${LOADER_CONF} does not exist (was a system ever built with nixos-rebuild boot?)`);
  const def = /^\s*default\s+(\S+)\s*$/m.exec(fs.readFileSync(conf, "utf8"));
  if (!def) throw new BootError(host, `/boot/${LOADER_CONF} has no "default" line`);
  const entryName = def[1].endsWith(".conf") ? def[1] : `${def[1]}.conf`;
  const entry = path.join(p.boot, LOADER_ENTRIES, entryName);
  if (!fs.existsSync(entry)) throw new BootError(host, `the default entry /boot/${LOADER_ENTRIES}/${entryName} does not exist`);
  const init = /^\s*options\s+.*?\binit=(\S+)/m.exec(fs.readFileSync(entry, "utf8"));
  if (!init) throw new BootError(host, `/boot/${LOADER_ENTRIES}/${entryName} has no "options init=..." line`);
  const system = init[1].replace(/\/init$/, "");
  if (!system.startsWith("/nix/store/")) throw new BootError(host, `init=${init[1]} in /boot/${LOADER_ENTRIES}/${entryName} is not in /nix/store`);
  if (!fs.existsSync(path.join(p.store, system.slice("/nix/store/".length)))) {
    throw new BootError(host, `the default entry boots ${system}, which is not in the host's /nix/store`);
  }
}

/** A boot_id as the kernel prints it. */
export function newBootId(): string {
  return randomUUID();
}

/**
 * Powers the host's "RAM" on: writes the new boot_id in place (the bind mount holds that very
 * file), gives the host the /run of a fresh boot (host tools' writeBootState) and creates what
 * sshd and NixOS's stage 2 add to it.
 */
export function powerOn(hostDir: string, system: string, bootId: string, timings: SimTimings, bootedAtMs: number): void {
  const p = hostPaths(hostDir);
  fs.writeFileSync(p.bootIdFile, bootId + "\n");
  writeBootState(hostDir, { system, bootedAtMs, timings });
  fs.mkdirSync(path.join(p.run, "sshd"), { mode: 0o755 });
  fs.mkdirSync(path.join(p.run, "wrappers", "bin"), { recursive: true });
}

/** Powers the host's "RAM" off: /run is gone (the holder keeps the mount, so empty it). */
export function clearRun(hostDir: string): void {
  const p = hostPaths(hostDir);
  if (!fs.existsSync(p.run)) return;
  for (const e of fs.readdirSync(p.run)) fs.rmSync(path.join(p.run, e), { recursive: true, force: true });
}

/**
 * Waits while a host is powered off. Resolves after `ms`, or as soon as `wake()` is called;
 * with `ms` undefined (the never-returns fault) it waits for `wake()` only.
 */
export class PowerOffWait {
  private timer: NodeJS.Timeout | undefined;
  private resolveFn: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(ms: number | undefined) {
    this.done = new Promise<void>((resolve) => {
      this.resolveFn = resolve;
      if (ms !== undefined) this.timer = setTimeout(resolve, ms);
    });
  }

  /** Ends the wait now. */
  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.resolveFn?.();
  }

  /** Switches to a new remaining duration (a fault changed while the host was off). */
  reschedule(ms: number | undefined): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = ms === undefined ? undefined : setTimeout(() => this.resolveFn?.(), Math.max(0, ms));
  }
}
