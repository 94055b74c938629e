/**
 * What a simulated host says about itself, from its systems instead of the machine running it:
 *  - the booted kernel (/proc/cmdline, /proc/version, /proc/sys/kernel/osrelease and
 *    /proc/sys/kernel/version, which uname(1) reads): written at each boot from the booted
 *    system and left alone by a live switch, since a switch never changes the running kernel;
 *  - /etc/os-release of the running system, which NixOS's activation links to the system's
 *    etc: written at boot and again at each switch or test.
 * The files live in the host folder and are bind-mounted over those paths (sim/layout.ts
 * HOST_MOUNTS). A bind mount holds its file's inode, so they are rewritten in place, never
 * replaced by a rename.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ENV, hostPaths } from "../layout";
import { readSystemInfo, type SystemInfo } from "./system-info";

/** Maps a host store path to where the calling process reads it. */
export type StoreRoot = (storePath: string) => string;

/** The booted kernel's view of itself: the contents of the files under /proc. */
export interface KernelFacts {
  /** /proc/cmdline: what the boot loader passed (init= and the system's kernel parameters). */
  readonly cmdline: string;
  /** /proc/sys/kernel/osrelease, `uname -r`. */
  readonly release: string;
  /** /proc/sys/kernel/version, `uname -v`. */
  readonly version: string;
  /** /proc/version. */
  readonly procVersion: string;
}

/**
 * The build stamp of nixpkgs' kernels: built by nixbld with the compiler of the release. The
 * date is the kernel's SOURCE_DATE_EPOCH; the simulated kernels have no sources, so Nix's
 * default epoch (1980-01-01) stands in for it.
 */
const KERNEL_BUILD_STAMP = "#1-NixOS SMP PREEMPT_DYNAMIC Tue Jan  1 00:00:00 UTC 1980";
const KERNEL_BUILDER = "(nixbld@localhost) (gcc (GCC) 13.2.0, GNU ld (GNU Binutils) 2.41)";

/** The kernel facts of a boot into `info` whose kernel calls itself `release`. */
export function kernelFacts(info: SystemInfo, release: string): KernelFacts {
  const params = info.kernelParams.length > 0 ? ` ${info.kernelParams.join(" ")}` : "";
  return {
    cmdline: `init=${info.system}/init${params}\n`,
    release: `${release}\n`,
    version: `${KERNEL_BUILD_STAMP}\n`,
    procVersion: `Linux version ${release} ${KERNEL_BUILDER} ${KERNEL_BUILD_STAMP}\n`,
  };
}

/**
 * What the kernel of `info` calls itself (`uname -r`): the folder name under its modules'
 * lib/modules/, which NixOS's modprobe looks up by `uname -r`. `storeRoot` maps a store path
 * to where this process reads it. Falls back to the recorded kernel version when the modules
 * folder cannot be read.
 */
export function kernelRelease(info: SystemInfo, storeRoot: StoreRoot): string {
  try {
    const names = fs.readdirSync(path.join(storeRoot(info.kernelModules), "lib", "modules"));
    if (names.length === 1) return names[0];
  } catch {
    // A system recorded without its modules' store path at hand: its kernel version is the release.
  }
  return info.kernelVersion;
}

/** Rewrites `file` in place (the bind mount over it keeps pointing at the same inode). */
function rewrite(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/**
 * At power-on, from outside the host: the kernel facts of a boot into `system` (a host store
 * path, read through `storeRoot`).
 */
export function writeKernelFacts(hostDir: string, system: string, storeRoot: StoreRoot): KernelFacts {
  const info = readSystemInfo(storeRoot(system));
  const facts = kernelFacts(info, kernelRelease(info, storeRoot));
  const k = hostPaths(hostDir).kernel;
  rewrite(k.cmdline, facts.cmdline);
  rewrite(k.osrelease, facts.release);
  rewrite(k.version, facts.version);
  rewrite(k.procVersion, facts.procVersion);
  return facts;
}

/** The os-release file of a system (NixOS generates it into the system's etc). */
export const OS_RELEASE_FILE = "etc/os-release";

/**
 * Makes `system`'s os-release the host's /etc/os-release. `storeRoot`: the host folder's store
 * from outside the host, the path itself on the host.
 */
export function linkOsRelease(hostDir: string, system: string, storeRoot: StoreRoot): void {
  const source = path.join(storeRoot(system), OS_RELEASE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(source, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${system}/${OS_RELEASE_FILE} for /etc/os-release: ${(e as Error).message}`);
  }
  rewrite(hostPaths(hostDir).osRelease, text);
}

/**
 * On the host, at activation (switch-to-configuration switch|test): /etc/os-release follows
 * the activated system. Outside a simulated host (no ENV.hostDir) there is nothing to link.
 */
export function activateOsRelease(system: string, env: NodeJS.ProcessEnv = process.env): void {
  const hostDir = env[ENV.hostDir];
  if (!hostDir) return;
  linkOsRelease(hostDir, system, (p) => p);
}
