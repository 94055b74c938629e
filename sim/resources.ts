/**
 * resources.json: everything a fleet created on the machine (namespaces, interfaces, processes,
 * mountpoints), written as each piece is created. `down` from a fresh process, or the next
 * start after a crash, reads it to remove what is left and to check that nothing remains.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeFs from "node:fs";
import { withMachineLock } from "./lock";
import { mountpointsOfAllNamespaces, releaseMountpoints } from "./mounts";
import { deleteNet, linkExists, listNetns, NETNS_PREFIX } from "./netns";
import { isAlive, killAndWait, messageOf, pidsInMountNamespace, refOf, type ProcRef } from "./proc";

/** One host's namespace holder as recorded. */
export interface HolderRecord extends ProcRef {
  readonly host: string;
  readonly mntNs: string;
}

/** The shape of resources.json. */
export interface ResourcesJson {
  readonly stateDir: string;
  readonly fleetId: string;
  /** The process that runs the fleet (the daemon, or a test process). */
  readonly owner: ProcRef;
  readonly netns: readonly string[];
  readonly veths: readonly string[];
  readonly holders: readonly HolderRecord[];
  /** Other processes started directly (sshd listeners, builds). */
  readonly processes: ReadonlyArray<ProcRef & { readonly what: string }>;
  /** Directories created on the machine as mountpoints (removed when no fleet uses them). */
  readonly mountpoints: readonly string[];
}

/** Its name inside the state folder. */
export const RESOURCES_FILE = "resources.json";

/** The live record of one fleet's resources; every change is written to disk at once. */
export class Resources {
  private data: ResourcesJson;

  constructor(private readonly file: string, stateDir: string, fleetId: string) {
    const owner = refOf(process.pid);
    if (!owner) throw new Error("cannot read this process's own start time from /proc");
    this.data = { stateDir, fleetId, owner, netns: [], veths: [], holders: [], processes: [], mountpoints: [] };
    this.save();
  }

  get snapshot(): ResourcesJson {
    return this.data;
  }

  update(change: (d: ResourcesJson) => ResourcesJson): void {
    this.data = change(this.data);
    this.save();
  }

  addProcess(ref: ProcRef, what: string): void {
    this.update((d) => ({ ...d, processes: [...d.processes.filter((p) => isAlive(p)), { ...ref, what }] }));
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.data, null, 2) + "\n");
    fs.renameSync(tmp, this.file);
  }

  /** Deletes the file once everything listed is gone. */
  remove(): void {
    fs.rmSync(this.file, { force: true });
  }
}

/** Reads resources.json of a state folder, or undefined when there is none. */
export function readResources(stateDir: string): ResourcesJson | undefined {
  const file = path.join(stateDir, RESOURCES_FILE);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, "utf8")) as ResourcesJson;
}

/**
 * Removes everything listed: kills every process in each host's mount namespace (holders last),
 * deletes namespaces and interfaces, removes unused created mountpoints. Never throws; returns
 * the problems it met, each naming the resource.
 */
export async function cleanUp(res: ResourcesJson, timeoutMs = 10_000): Promise<string[]> {
  const problems: string[] = [];
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(500, deadline - Date.now());
  const victims: ProcRef[] = [];
  for (const h of res.holders) {
    for (const pid of pidsInMountNamespace(h.mntNs)) {
      const ref = refOf(pid);
      if (ref) victims.push(ref);
    }
    if (isAlive(h)) victims.push(h);
  }
  for (const p of res.processes) if (isAlive(p)) victims.push(p);
  try {
    await killAndWait(victims, left(), "the simulated hosts' processes");
  } catch (error) {
    problems.push(messageOf(error));
  }
  for (const ns of res.netns) {
    try {
      await deleteNet(ns, undefined);
    } catch (error) {
      problems.push(`network namespace ${ns}: ${messageOf(error)}`);
    }
  }
  for (const v of res.veths) {
    try {
      await deleteNet(undefined, v);
    } catch (error) {
      problems.push(`interface ${v}: ${messageOf(error)}`);
    }
  }
  try {
    // Kept mountpoints are in use by another running fleet: not a problem of this one.
    await withMachineLock(async () => void releaseMountpoints(res.mountpoints), left());
  } catch (error) {
    problems.push(`mountpoints ${res.mountpoints.join(", ")}: ${messageOf(error)}`);
  }
  return problems;
}

/** What of `res` still exists on the machine, one line each (empty when all is gone). */
export async function leftovers(res: ResourcesJson): Promise<string[]> {
  const out: string[] = [];
  const namespaces = await listNetns();
  for (const ns of namespaces) if (res.netns.includes(ns) || ns.startsWith(`${NETNS_PREFIX}${res.fleetId}-`)) out.push(`network namespace ${ns}`);
  for (const v of res.veths) if (await linkExists(v)) out.push(`interface ${v}`);
  for (const h of res.holders) {
    if (isAlive(h)) out.push(`namespace holder of ${h.host} (pid ${h.pid})`);
    const rest = pidsInMountNamespace(h.mntNs);
    if (rest.length > 0) out.push(`processes of ${h.host}: pids ${rest.join(", ")}`);
  }
  for (const p of res.processes) if (isAlive(p)) out.push(`${p.what} (pid ${p.pid})`);
  const points = res.mountpoints.filter((m) => nodeFs.existsSync(m));
  if (points.length > 0) {
    const used = mountpointsOfAllNamespaces();
    for (const m of points) if (!used.some((u) => u.point === m || u.point.startsWith(m + "/"))) out.push(`created mountpoint ${m}`);
  }
  return out;
}

/** Waits (with a deadline) until nothing of `res` is left; resolves with what is still there at the deadline. */
export async function settle(res: ResourcesJson, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await leftovers(res);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}
