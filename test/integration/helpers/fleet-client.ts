/**
 * Talking to a simulated fleet from tests: SSH with ssh2 and with the real ssh client,
 * waiting for timeline events, and checking that nothing of a fleet is left on the machine.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Host } from "../../../lib/host/host";
import { sshConnector } from "../../../lib/host/ssh";
import { mountpointsOfAllNamespaces } from "../../../sim/mounts";
import { listNetns, NETNS_PREFIX } from "../../../sim/netns";
import { allPids, run, type RunResult } from "../../../sim/proc";
import type { ResourcesJson } from "../../../sim/resources";
import type { FleetJson, SimHostInfo, TimelineEvent, TimelineKind } from "../../../sim/types";

export function hostInfo(fleet: FleetJson, name: string): SimHostInfo {
  const h = fleet.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name} in fleet.json`);
  return h;
}

/** One ssh2 session to a host with the pinned key of fleet.json (on `port`, else the host's). */
export function connect(fleet: FleetJson, name: string, timeoutMs = 5000, hostKey?: string, port?: number): Promise<Host> {
  const h = hostInfo(fleet, name);
  return sshConnector({
    name,
    address: h.address,
    port: port ?? h.port,
    user: "root",
    privateKey: fs.readFileSync(fleet.sshKeyPath, "utf8"),
    hostKey: hostKey ?? h.hostKey,
    trustOnFirstUse: false,
  }).connect(timeoutMs);
}

/** A new SSH login with the fleet's key (on `port`, else the host's): resolves with "ok" or the reason it failed. */
export async function tryLogin(fleet: FleetJson, name: string, port?: number): Promise<string> {
  try {
    const h = await connect(fleet, name, 3000, undefined, port);
    await h.close();
    return "ok";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Connects, runs one command, closes. */
export async function exec1(fleet: FleetJson, name: string, command: string, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const h = await connect(fleet, name);
  try {
    return await h.exec(command, { timeoutMs });
  } finally {
    await h.close();
  }
}

/** The real OpenSSH client, verifying the host against the fleet's known_hosts. */
export function sshCli(fleet: FleetJson, name: string, command: string, timeoutMs = 20_000): Promise<RunResult> {
  const h = hostInfo(fleet, name);
  return run(
    "ssh",
    [
      "-i",
      fleet.sshKeyPath,
      "-o",
      `UserKnownHostsFile=${path.join(fleet.stateDir, "known_hosts")}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=5",
      "-o",
      "LogLevel=ERROR",
      `root@${h.address}`,
      command,
    ],
    { timeoutMs },
  );
}

/** Waits for the first event after `since` that matches; rejects naming what it waited for. */
export async function waitForEvent(
  events: () => TimelineEvent[],
  match: { host: string; kind: TimelineKind; since: number; where?: (e: TimelineEvent) => boolean },
  timeoutMs: number,
): Promise<TimelineEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = events().find((ev) => ev.host === match.host && ev.kind === match.kind && ev.t >= match.since && (!match.where || match.where(ev)));
    if (e) return e;
    if (Date.now() > deadline) {
      const seen = events()
        .filter((ev) => ev.host === match.host && ev.t >= match.since)
        .map((ev) => ev.kind);
      throw new Error(`timed out after ${timeoutMs} ms waiting for a "${match.kind}" event of ${match.host} (saw: ${seen.join(", ") || "nothing"})`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits for the power cycle that follows `since`: its "down", then the "up" after it. Waiting for
 * an "up" at or after `since` alone can match the previous boot's, recorded in the very
 * millisecond `since` was taken.
 */
export async function waitForNextBoot(events: () => TimelineEvent[], host: string, since: number, timeoutMs: number): Promise<TimelineEvent> {
  const deadline = Date.now() + timeoutMs;
  const down = await waitForEvent(events, { host, kind: "down", since }, timeoutMs);
  return waitForEvent(events, { host, kind: "up", since: down.t }, Math.max(0, deadline - Date.now()));
}

/** Polls until `fn` resolves with a value accepted by `ok`; rejects naming `what` and the last value. */
export async function pollUntil<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | string = "nothing yet";
  for (;;) {
    try {
      const v = await fn();
      last = v;
      if (ok(v)) return v;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/**
 * Everything of a fleet still on the machine: its network namespaces and interfaces, mounts
 * from its state folder in any mount namespace, processes mentioning the state folder (sshd,
 * holders), created mountpoints no one uses.
 */
export async function leftoversOf(res: ResourcesJson, mountpointsBefore: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  for (const ns of await listNetns()) if (ns.startsWith(`${NETNS_PREFIX}${res.fleetId}-`)) out.push(`netns ${ns}`);
  const links = (await run("ip", ["-o", "link"])).stdout;
  for (const v of res.veths) if (new RegExp(`\\b${v}\\b`).test(links)) out.push(`interface ${v}`);
  for (const m of mountpointsOfAllNamespaces()) if (m.point.startsWith(res.stateDir)) out.push(`mount ${m.point} (ns of pid ${m.pid})`);
  const own = fs.readFileSync("/proc/self/mountinfo", "utf8");
  if (own.includes(res.stateDir)) out.push(`a mount from ${res.stateDir} in this process's mount namespace`);
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const cmd = cmdlineOf(pid);
    if (cmd.includes(res.stateDir) && !cmd.includes("mocha")) out.push(`process ${pid}: ${cmd.slice(0, 120)}`);
  }
  for (const h of res.holders) if (fs.existsSync(`/proc/${h.pid}`) && cmdlineOf(h.pid).startsWith("sleep infinity")) out.push(`holder of ${h.host} (pid ${h.pid})`);
  const used = mountpointsOfAllNamespaces();
  for (const m of res.mountpoints) {
    if (mountpointsBefore.has(m)) continue;
    if (fs.existsSync(m) && !used.some((u) => u.point === m || u.point.startsWith(m + "/"))) out.push(`created mountpoint ${m}`);
  }
  return out;
}
