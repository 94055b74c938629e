/**
 * The supervisor of one transient unit: it plays PID 1 for the unit. Started detached by
 * systemd-run (or by an elapsing timer), so it is no child of any SSH session and outlives it;
 * it lives in the host's mount namespace, so a power cycle kills it with everything else.
 *
 *   node unit-runner.js <unit>
 *
 * A service: runs the command in a process group of its own, sends its output to the journal,
 * records MainPID, and at the end ExecMainCode/ExecMainStatus and Result; an inactive unit is
 * unloaded, a failed one stays until `systemctl reset-failed` unless it was made with --collect.
 * SIGTERM is `systemctl stop`: the command's group gets SIGTERM, then SIGKILL after
 * TimeoutStopSec. A timer: waits for its elapse, then starts its service's supervisor.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { appendJournal, systemdSays } from "./journal";
import { readUnit, removeUnit, startSupervisor, writeUnit, type ServiceUnit, type TimerUnit } from "./transient";

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/** "0/SUCCESS", "1/FAILURE", "15/TERM" as systemd prints a status. */
export function statusText(code: "exited" | "killed", status: number): string {
  if (code === "killed") {
    const name = Object.entries(SIGNALS).find(([, n]) => n === status)?.[0];
    return `${status}/${name ? name.slice(3) : "UNKNOWN"}`;
  }
  return `${status}/${status === 0 ? "SUCCESS" : status === 203 ? "EXEC" : status === 2 ? "INVALIDARGUMENT" : "FAILURE"}`;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

function runService(unit: ServiceUnit): void {
  const id = unit.id;
  const title = `${id} - ${unit.description}`;
  const [command, ...args] = unit.argv;
  // systemd gives every service process its invocation id, as 32 hex digits.
  const env = { ...unit.env, INVOCATION_ID: randomBytes(16).toString("hex") };
  const child = spawn(command, args, { cwd: unit.workingDirectory, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const ident = path.basename(command);
  let stopping = false;
  let timedOut = false;
  let spawnError: string | undefined;
  const now = Date.now();
  appendJournal([systemdSays(id, `Started ${title}.`)]);
  writeUnit({ ...unit, activeState: "active", subState: "running", supervisorPid: process.pid, mainPid: child.pid ?? 0, execMainStartMs: now, stateChangeMs: now });
  const forward = (stream: NodeJS.ReadableStream | null) => {
    let partial = "";
    stream?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      appendJournal(lines.map((msg) => ({ unit: id, ident, pid: child.pid ?? 0, msg })));
    });
    stream?.on("end", () => {
      if (partial) appendJournal([{ unit: id, ident, pid: child.pid ?? 0, msg: partial }]);
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  process.on("SIGTERM", () => {
    if (stopping) return;
    stopping = true;
    appendJournal([systemdSays(id, `Stopping ${title}...`)]);
    const current = readUnit(id);
    if (current) writeUnit({ ...current, activeState: "deactivating", subState: "stop-sigterm", stateChangeMs: Date.now() });
    if (child.pid !== undefined) killGroup(child.pid, "SIGTERM");
    if (Number.isFinite(unit.timeoutStopMs)) {
      setTimeout(() => {
        timedOut = true;
        appendJournal([systemdSays(id, `${id}: State 'stop-sigterm' timed out. Killing.`)]);
        if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
      }, unit.timeoutStopMs).unref();
    }
  });
  child.on("error", (e) => {
    spawnError = e.message;
  });
  child.on("close", (exitCode, signal) => {
    // The rest of the control group goes with the main process.
    if (child.pid !== undefined) killGroup(child.pid, "SIGTERM");
    const end = Date.now();
    const code: "exited" | "killed" = signal ? "killed" : "exited";
    const status = signal ? (SIGNALS[signal] ?? 0) : spawnError ? 203 : (exitCode ?? 0);
    const base = readUnit(id) ?? unit;
    const ended = { ...base, supervisorPid: 0, mainPid: 0, execMainCode: (code === "exited" ? 1 : 2) as 1 | 2, execMainStatus: status, execMainExitMs: end, stateChangeMs: end };
    const notes = [];
    if (spawnError) notes.push(systemdSays(id, `${id}: Failed to execute ${command}: ${spawnError}`));
    if (stopping) {
      notes.push(systemdSays(id, timedOut ? `${id}: Failed with result 'timeout'.` : `${id}: Deactivated successfully.`), systemdSays(id, `Stopped ${title}.`));
      appendJournal(notes);
      if (timedOut && !unit.collect) writeUnit({ ...ended, activeState: "failed", subState: "failed", result: "timeout" });
      else removeUnit(id);
      process.exit(0);
    }
    if (code === "exited" && status === 0) {
      notes.push(systemdSays(id, `${id}: Deactivated successfully.`));
      appendJournal(notes);
      if (unit.remainAfterExit) writeUnit({ ...ended, activeState: "active", subState: "exited", result: "success" });
      else removeUnit(id);
      process.exit(0);
    }
    const result = code === "exited" ? "exit-code" : "signal";
    notes.push(systemdSays(id, `${id}: Main process exited, code=${code}, status=${statusText(code, status)}`), systemdSays(id, `${id}: Failed with result '${result}'.`));
    appendJournal(notes);
    if (unit.collect) removeUnit(id);
    else writeUnit({ ...ended, activeState: "failed", subState: "failed", result });
    process.exit(0);
  });
}

function runTimer(timer: TimerUnit): void {
  const id = timer.id;
  writeUnit({ ...timer, activeState: "active", subState: "waiting", supervisorPid: process.pid, stateChangeMs: Date.now() });
  const wait = setTimeout(() => {
    const service = readUnit(timer.unit);
    if (service && service.kind === "service" && service.activeState === "inactive") startSupervisor(service.id, __dirname);
    const current = readUnit(id) ?? timer;
    writeUnit({ ...current, activeState: "active", subState: "elapsed", supervisorPid: 0, stateChangeMs: Date.now() });
    process.exit(0);
  }, Math.max(0, timer.elapseAtMs - Date.now()));
  process.on("SIGTERM", () => {
    clearTimeout(wait);
    appendJournal([systemdSays(id, `${id}: Deactivated successfully.`), systemdSays(id, `Stopped ${id} - ${timer.description}.`)]);
    removeUnit(id);
    // The service the timer would have started is unloaded with it, unless it runs.
    const service = readUnit(timer.unit);
    if (service && service.activeState === "inactive") removeUnit(timer.unit);
    process.exit(0);
  });
}

if (require.main === module) {
  const id = process.argv[2];
  const unit = id === undefined ? undefined : readUnit(id);
  if (!unit) {
    process.stderr.write(`unit-runner: no transient unit ${JSON.stringify(id)} is loaded (${os.hostname()})\n`);
    process.exit(1);
  }
  if (unit.kind === "service") runService(unit);
  else runTimer(unit);
}
