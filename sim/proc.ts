/**
 * Processes of the simulated fleet: running machine commands (ip, ssh-keygen, nsenter) with a
 * deadline, and finding, identifying and killing processes by namespace. A process is named
 * by its pid plus its start time so a recycled pid is never mistaken for ours.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";

/** What a finished command left behind. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A command of the machine failed; the message names it, its exit status and its output tail. */
export class CommandError extends Error {
  constructor(readonly command: string, readonly result: RunResult | undefined, detail: string) {
    super(`\`${command}\` ${detail}`);
    this.name = "CommandError";
  }
}

/** Options of run() and runOk(). */
export interface RunOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const DEFAULT_RUN_TIMEOUT_MS = 20_000;

/** Runs a program and resolves with its result whatever its exit status; rejects only on the deadline or spawn failure. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const label = [file, ...args].join(" ");
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: options.env ?? process.env, cwd: options.cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new CommandError(label, undefined, `could not be started: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = { code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (timedOut) reject(new CommandError(label, result, `did not finish within ${timeoutMs} ms and was killed${tailOf(result)}`));
      else resolve(result);
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** Runs a program and rejects with a CommandError (exit status, output tail) unless it exits 0. */
export async function runOk(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    const status = result.code === null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    throw new CommandError([file, ...args].join(" "), result, `${status}${tailOf(result)}`);
  }
  return result;
}

function tailOf(r: RunResult): string {
  const text = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-8).join("\n");
  return text ? `: ${text}` : "";
}

/** A process we started, named so that a recycled pid does not match. */
export interface ProcRef {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot). */
  readonly startTime: string;
}

/** The start time of a live process, or undefined when it is gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") return undefined;
    return rest[19];
  } catch {
    return undefined;
  }
}

/** The parent pid of a live process, or undefined. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** `roots` and every process descended from them, among `pids`. */
export function withDescendants(roots: readonly number[], pids: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of pids) {
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const out = new Set<number>();
  const todo = [...roots];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    if (out.has(pid)) continue;
    out.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return [...out];
}

/** True when the process still runs (and is the same process, not a recycled pid). */
export function isAlive(ref: ProcRef): boolean {
  return startTimeOf(ref.pid) === ref.startTime;
}

/** The process's reference, or undefined when it is gone. */
export function refOf(pid: number): ProcRef | undefined {
  const startTime = startTimeOf(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/** The namespace id of a process ("mnt:[4026532248]"), or undefined. */
export function namespaceOf(pid: number | "self", kind: "mnt" | "net"): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Every live pid of the machine. */
export function allPids(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** Pids whose mount namespace is `mntNs`. */
export function pidsInMountNamespace(mntNs: string): number[] {
  return allPids().filter((pid) => namespaceOf(pid, "mnt") === mntNs);
}

/** The executable of a process, or undefined. */
export function exeOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/** Sends SIGKILL to each process and waits until all are gone; rejects naming the survivors at the deadline. */
export async function killAndWait(refs: readonly ProcRef[], timeoutMs: number, what: string): Promise<void> {
  for (const r of refs) {
    if (!isAlive(r)) continue;
    try {
      process.kill(r.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await waitFor(() => refs.every((r) => !isAlive(r)), timeoutMs, `${what} to exit (pids ${refs.map((r) => r.pid).join(", ")})`);
}

/** Polls `done` until it is true; rejects with "timed out after N ms waiting for <what>". */
export async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The message of an unknown thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
