/**
 * Transient units on a simulated host, as systemd-run creates them: each unit's state lives in
 * /run/nixos-sim/units/<unit>.json (on /run, so a reboot forgets every transient unit, as
 * systemd does) and is written by the unit's supervisor (unit-runner.ts), the process that
 * plays PID 1 for it. systemd-run only creates the file; systemctl reads it and asks the
 * supervisor to stop.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST } from "./paths";

/** Where transient units are kept on the host. */
export const UNITS_DIR = path.posix.join(HOST.runSim, "units");

/** systemd's unit active states, as far as transient units reach them. */
export type ActiveState = "activating" | "active" | "deactivating" | "inactive" | "failed";
/** The Result= property of a service or timer. */
export type UnitResult = "success" | "exit-code" | "signal" | "timeout";
/** ExecMainCode= as systemctl show prints it: 0 none yet, 1 exited (CLD_EXITED), 2 killed (CLD_KILLED). */
export type ExecMainCode = 0 | 1 | 2;

interface UnitBase {
  /** Full unit name: "guard.service", "guard.timer". */
  readonly id: string;
  readonly description: string;
  readonly activeState: ActiveState;
  readonly subState: string;
  readonly result: UnitResult;
  /** Pid of the supervisor playing PID 1 for the unit, while it has one. */
  readonly supervisorPid: number;
  readonly stateChangeMs: number;
}

/** A transient service. */
export interface ServiceUnit extends UnitBase {
  readonly kind: "service";
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDirectory: string;
  readonly remainAfterExit: boolean;
  /** CollectMode=inactive-or-failed (--collect): a failed unit is unloaded at once too. */
  readonly collect: boolean;
  readonly timeoutStopMs: number;
  readonly properties: Readonly<Record<string, string>>;
  readonly mainPid: number;
  readonly execMainCode: ExecMainCode;
  readonly execMainStatus: number;
  readonly execMainStartMs: number;
  readonly execMainExitMs: number;
}

/** A transient timer (OnActiveSec=) that starts a service when it elapses. */
export interface TimerUnit extends UnitBase {
  readonly kind: "timer";
  /** The service it starts. */
  readonly unit: string;
  /** When it elapses (after AccuracySec coalescing), ms since the epoch. */
  readonly elapseAtMs: number;
  readonly onActiveMs: number;
  readonly accuracyMs: number;
}

export type TransientUnit = ServiceUnit | TimerUnit;

/** Whether a transient unit is a service. */
export function isService(u: TransientUnit): u is ServiceUnit {
  return u.kind === "service";
}

/** "guard" → "guard.service"; names with a known suffix stay as they are. */
export function unitName(name: string, suffix = ".service"): string {
  return /\.(service|timer|socket|target|mount|path|scope|slice)$/.test(name) ? name : `${name}${suffix}`;
}

function fileOf(id: string, dir: string): string {
  if (id.includes("/") || id.startsWith(".")) throw new Error(`invalid unit name ${JSON.stringify(id)}`);
  return path.join(dir, `${id}.json`);
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A unit's state, or undefined when it is not loaded. A unit whose supervisor died without
 * recording an end (SIGKILL from outside) reads as failed with Result=signal.
 */
export function readUnit(id: string, dir: string = UNITS_DIR): TransientUnit | undefined {
  let u: TransientUnit;
  try {
    u = JSON.parse(fs.readFileSync(fileOf(id, dir), "utf8")) as TransientUnit;
  } catch {
    return undefined;
  }
  const running = u.activeState === "active" || u.activeState === "activating" || u.activeState === "deactivating";
  if (running && u.supervisorPid > 0 && !alive(u.supervisorPid) && !(isService(u) && u.subState === "exited")) {
    return { ...u, activeState: "failed", subState: "failed", result: "signal", supervisorPid: 0 };
  }
  return u;
}

/** Every loaded transient unit. */
export function listUnits(dir: string = UNITS_DIR): TransientUnit[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".json"))
    .map((n) => readUnit(n.slice(0, -".json".length), dir))
    .filter((u): u is TransientUnit => u !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Creates a unit; false when one of that name is loaded already (the file is created exclusively). */
export function createUnit(u: TransientUnit, dir: string = UNITS_DIR): boolean {
  fs.mkdirSync(dir, { recursive: true });
  const file = fileOf(u.id, dir);
  const existing = readUnit(u.id, dir);
  // A unit whose supervisor vanished stays loaded as failed, as systemd keeps a failed unit.
  if (existing) return false;
  let fd: number;
  try {
    fd = fs.openSync(file, "wx");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(u)}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Replaces a unit's state (atomically). */
export function writeUnit(u: TransientUnit, dir: string = UNITS_DIR): void {
  const file = fileOf(u.id, dir);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(u)}\n`);
  fs.renameSync(tmp, file);
}

/** Unloads a unit (systemd's garbage collection of an inactive transient unit). */
export function removeUnit(id: string, dir: string = UNITS_DIR): void {
  fs.rmSync(fileOf(id, dir), { force: true });
}

/** Starts the supervisor of a unit, detached from the caller (its parent becomes init). */
export function startSupervisor(id: string, toolsDir: string): number {
  const child = spawn(process.execPath, [path.join(toolsDir, "unit-runner.js"), id], {
    detached: true,
    stdio: "ignore",
    cwd: "/",
    env: process.env,
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start the supervisor of ${id}`);
  return child.pid;
}

/** Waits until `check` holds or `ms` passed; returns whether it held. */
export async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}
