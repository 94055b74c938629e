/**
 * The simulated hosts' filesystems. Each host has a persistent mount (and UTS) namespace held
 * open by a sleeping "holder" process inside the host's network namespace; in it the host's
 * folders are bind-mounted over the real NixOS paths. Every later process of the host enters
 * the holder's namespaces with nsenter. Mounts never appear in the machine's own namespace.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST_MOUNTS, type HostMount } from "./layout";
import { allPids, namespaceOf, refOf, runOk, waitFor, type ProcRef } from "./proc";

/** A host's namespace holder. */
export interface Holder extends ProcRef {
  readonly mntNs: string;
}

/**
 * Bind mounts the fleet adds to layout.ts's HOST_MOUNTS. /root: each host gets its own root
 * home, because the machine's /root dotfiles (Debian's bash sources ~/.bashrc for SSH commands)
 * would otherwise change PATH and the environment of every session on every host.
 */
export const FLEET_MOUNTS: readonly HostMount[] = [
  { source: "fs/root", target: "/root" },
];

/** All bind mounts of a host, in mount order. */
export const ALL_MOUNTS = [...HOST_MOUNTS, ...FLEET_MOUNTS];

/** Marker left inside mountpoints the fleet created on the machine, so any later fleet may remove them. */
const CREATED_MARKER = ".nixos-fleet-sim-mountpoint";

/** Throws when the state folder lies under a path the hosts mount over (it would be hidden from them). */
export function checkStateDirPlacement(stateDir: string): void {
  for (const m of ALL_MOUNTS) {
    if (stateDir === m.target || stateDir.startsWith(m.target + "/")) {
      throw new Error(`the state folder ${stateDir} lies under ${m.target}, which every simulated host mounts over; choose another --state-dir`);
    }
  }
}

/**
 * Makes sure every mount target exists on the machine. Directories the fleet creates (such as
 * /etc/nixos on a machine that is not NixOS) get a marker and are returned, so they can be removed
 * when no fleet uses them any more; markers left by another fleet are adopted the same way.
 * Targets that something else on the machine owns (files, /nix) are never created: a missing one
 * is an error that names its owner.
 */
export function ensureMountpoints(mounts: readonly HostMount[] = ALL_MOUNTS): string[] {
  const ours: string[] = [];
  for (const m of mounts) {
    if (m.file || m.ownedBy) {
      if (!fs.existsSync(m.target)) {
        const owner = m.ownedBy ? `; it belongs to ${m.ownedBy}` : "";
        throw new Error(`${m.target} does not exist on this machine; the simulated hosts need it as a mountpoint${owner}`);
      }
      continue;
    }
    if (!fs.existsSync(m.target)) {
      let top = m.target;
      while (!fs.existsSync(path.dirname(top))) top = path.dirname(top);
      fs.mkdirSync(m.target, { recursive: true });
      fs.writeFileSync(path.join(top, CREATED_MARKER), "created by the nixos-fleet simulated fleet; removed when no fleet runs\n");
      ours.push(top);
      continue;
    }
    for (let p = m.target; p !== "/"; p = path.dirname(p)) {
      if (fs.existsSync(path.join(p, CREATED_MARKER)) && !ours.includes(p)) ours.push(p);
    }
  }
  return ours;
}

/**
 * Removes created mountpoints that no mount namespace on the machine uses any more (removing a
 * directory that is a mountpoint elsewhere would detach that mount). Only marker files and
 * empty directories are ever removed. Returns the ones kept, with the reason.
 */
export function releaseMountpoints(dirs: readonly string[]): string[] {
  const kept: string[] = [];
  const inUse = mountpointsOfAllNamespaces();
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    const user = inUse.find((m) => m.point === dir || m.point.startsWith(dir + "/"));
    if (user) {
      kept.push(`${dir} (still a mountpoint in the mount namespace of pid ${user.pid})`);
      continue;
    }
    if (!fs.existsSync(path.join(dir, CREATED_MARKER))) continue;
    if (!onlyEmptyDirs(dir)) {
      kept.push(`${dir} (holds files now; left in place)`);
      continue;
    }
    fs.rmSync(dir, { recursive: true });
  }
  return kept;
}

function onlyEmptyDirs(dir: string): boolean {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === CREATED_MARKER) continue;
    if (!e.isDirectory() || !onlyEmptyDirs(path.join(dir, e.name))) return false;
  }
  return true;
}

/** Mount points of every mount namespace on the machine, with one pid living in each. */
export function mountpointsOfAllNamespaces(): Array<{ point: string; pid: number }> {
  const seen = new Map<string, number>();
  for (const pid of allPids()) {
    const ns = namespaceOf(pid, "mnt");
    if (ns && !seen.has(ns)) seen.set(ns, pid);
  }
  const out: Array<{ point: string; pid: number }> = [];
  for (const pid of seen.values()) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const f = line.split(" ");
      if (f.length > 4) out.push({ point: unescapeMount(f[4]), pid });
    }
  }
  return out;
}

/** Mount points and sources of our own namespace that involve `dir` (there should be none). */
export function ownMountsUnder(dir: string): string[] {
  const text = fs.readFileSync("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .filter((l) => l.split(" ").some((f) => unescapeMount(f) === dir || unescapeMount(f).startsWith(dir + "/")));
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Starts the holder of a host: a sleeping process in the host's network namespace that
 * owns a fresh mount and UTS namespace with private propagation.
 */
export async function startHolder(netns: string): Promise<Holder> {
  const own = namespaceOf("self", "mnt");
  // nsenter and unshare exec their command, so the pid we get is the sleeping holder itself.
  const child = spawn("nsenter", [`--net=/run/netns/${netns}`, "--", "unshare", "--mount", "--uts", "--propagation", "private", "--", "sleep", "infinity"], {
    stdio: "ignore",
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the namespace holder of ${netns} (nsenter/unshare missing?)`);
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `exited (code ${code}, signal ${signal})`));
  await waitFor(
    () => {
      if (exited) throw new Error(`the namespace holder of ${netns} ${exited}`);
      const ns = namespaceOf(pid, "mnt");
      return ns !== undefined && ns !== own && fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sleep";
    },
    5000,
    `the namespace holder of ${netns} to enter its new mount namespace`,
    5,
  );
  const ref = refOf(pid);
  const mntNs = namespaceOf(pid, "mnt");
  if (!ref || !mntNs) throw new Error(`the namespace holder of ${netns} (pid ${pid}) vanished right after starting`);
  return { ...ref, mntNs };
}

/** nsenter arguments that put a program into the host's namespaces. */
export function nsenterArgs(holder: ProcRef): string[] {
  return ["--target", String(holder.pid), "--mount", "--net", "--uts", "--"];
}

/** Bind-mounts the host's folders over the real paths inside its mount namespace and names it. */
export async function mountHostFs(holder: Holder, hostDir: string, hostName: string): Promise<void> {
  const pairs: string[] = [];
  for (const m of ALL_MOUNTS) {
    const source = path.join(hostDir, m.source);
    if (m.file) {
      fs.mkdirSync(path.dirname(source), { recursive: true });
      if (!fs.existsSync(source)) fs.writeFileSync(source, "");
    } else {
      fs.mkdirSync(source, { recursive: true });
    }
    pairs.push(source, m.target);
  }
  // One shell for all mounts of a host: the sources are absolute and passed as arguments. First
  // the copies of network namespace mounts (/run/netns/*) inherited from the machine are dropped:
  // they would keep other hosts' and other fleets' namespaces alive after those are deleted.
  const script = [
    "set -e",
    "awk '$0 ~ / - nsfs / {print $5}' /proc/self/mountinfo | while read -r m; do umount -l \"$m\" 2>/dev/null || true; done",
    'hostname "$1"',
    "shift",
    'while [ $# -gt 1 ]; do mount --bind "$1" "$2"; shift 2; done',
  ].join("\n");
  await runOk("nsenter", [...nsenterArgs(holder), "sh", "-c", script, "sh", hostName, ...pairs], { timeoutMs: 10_000 });
}
