/**
 * The control plane's processes: each runs in a process group of its own with its output in a
 * log file, so stopping it reaches anything it started and no pipe ties it to this process.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { refOf, sleep, type ProcRef } from "../proc";
import type { Component } from "./options";

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started component. */
export interface ComponentProcess {
  readonly component: Component;
  readonly ref: ProcRef;
  readonly logFile: string;
  /** Set once the process exited. */
  exit(): Exit | undefined;
}

/** Starts `file args` as the leader of a new process group, appending its output to `logFile`. */
export async function spawnComponent(component: Component, file: string, args: readonly string[], logFile: string): Promise<ComponentProcess> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, "a");
  let exit: Exit | undefined;
  try {
    fs.writeSync(fd, `\n=== ${new Date().toISOString()} ${file} ${args.join(" ")}\n`);
    const child = spawn(file, args, { detached: true, stdio: ["ignore", fd, fd] });
    const started = new Promise<number>((resolve, reject) => {
      child.once("spawn", () => resolve(child.pid as number));
      child.once("error", (e) => reject(new Error(`${component}: \`${file}\` could not be started: ${e.message}`)));
    });
    child.once("exit", (code, signal) => (exit = { code, signal }));
    const pid = await started;
    // Read before anything can reap it: the process has not been waited for yet, so its pid is ours.
    const ref = refOf(pid) ?? { pid, startTime: "gone" };
    return { component, ref, logFile, exit: () => exit };
  } finally {
    fs.closeSync(fd);
  }
}

/** True while any process of the group led by `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone already
  }
}

async function waitGone(p: ComponentProcess, untilMs: number, pollMs: number): Promise<boolean> {
  for (;;) {
    if (p.exit() !== undefined && !groupAlive(p.ref.pid)) return true;
    if (Date.now() >= untilMs) return false;
    await sleep(pollMs);
  }
}

/**
 * Stops a component: SIGTERM to its group, SIGKILL after `termGraceMs`, then waits until the
 * process has exited and its group is empty; rejects naming it when that takes past `deadline`.
 */
export async function stopComponent(p: ComponentProcess, termGraceMs: number, deadline: number, pollMs = 50): Promise<void> {
  if (p.exit() !== undefined && !groupAlive(p.ref.pid)) return;
  signalGroup(p.ref.pid, "SIGTERM");
  if (await waitGone(p, Math.min(deadline, Date.now() + termGraceMs), pollMs)) return;
  signalGroup(p.ref.pid, "SIGKILL");
  if (await waitGone(p, deadline, pollMs)) return;
  throw new Error(`${p.component} (process group ${p.ref.pid}) was still running after SIGTERM and SIGKILL`);
}

/** The last `lines` lines of a log file, or a note that there is none. */
export function logTail(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, "utf8").trimEnd();
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return `(no log at ${file})`;
  }
}

/** Resident memory of a live process in bytes (VmRSS), or 0 when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}
