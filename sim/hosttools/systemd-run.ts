/**
 * systemd-run on a simulated host: a command as a transient service, or a transient timer
 * (--on-active=) that starts it later. The unit is supervised by unit-runner.ts, detached
 * from the caller, so it survives the SSH session that started it and dies at a reboot.
 *
 *   systemd-run [--unit=NAME] [--description=TEXT] [-p|--property=K=V]... [--collect|-G]
 *               [--remain-after-exit|-r] [-E|--setenv=K[=V]]... [--working-directory=DIR|-d]
 *               [--on-active=SPAN [--timer-property=K=V]...] [-q] [--no-block] [--] COMMAND [ARGS...]
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ENV, SESSION_PATH } from "../layout";
import { processIo, runProgram, type Io } from "./cli";
import { currentBootId } from "./journal";
import { parseTimespanMs } from "./timespan";
import { createUnit, readUnit, removeUnit, startSupervisor, unitName, waitUntil, type ServiceUnit, type TimerUnit } from "./transient";

/** systemd's DefaultTimeoutStopSec. */
const DEFAULT_TIMEOUT_STOP_MS = 90_000;
/** A timer's default AccuracySec: systemd may fire it up to a minute late to coalesce wakeups. */
export const DEFAULT_ACCURACY_MS = 60_000;
const START_WAIT_MS = 10_000;

/** Unit properties this systemd-run understands (-p); others are refused as "Unknown assignment". */
const SERVICE_PROPERTIES = new Set(["RemainAfterExit", "TimeoutStopSec", "CollectMode", "WorkingDirectory", "Environment", "Type", "KillMode", "Description", "StandardOutput", "StandardError", "User", "Group"]);
const TIMER_PROPERTIES = new Set(["AccuracySec", "RemainAfterElapse", "WakeSystem"]);
const UNSUPPORTED = new Set(["--scope", "--user", "--wait", "--pipe", "-P", "--pty", "-t", "--shell", "-S", "--machine", "-M", "--host", "-H", "--on-calendar", "--on-boot", "--on-startup", "--on-unit-active", "--on-unit-inactive", "--path-property", "--socket-property"]);

/** A parsed systemd-run command line. */
export interface RunRequest {
  readonly unit?: string;
  readonly description?: string;
  readonly properties: ReadonlyArray<readonly [string, string]>;
  readonly timerProperties: ReadonlyArray<readonly [string, string]>;
  readonly setenv: readonly string[];
  readonly onActiveMs?: number;
  readonly collect: boolean;
  readonly remainAfterExit: boolean;
  readonly sameDir: boolean;
  readonly workingDirectory?: string;
  readonly quiet: boolean;
  readonly command: readonly string[];
}

/** Parses a command line; a string is the error systemd-run would print. */
export function parseRunArgs(argv: readonly string[]): RunRequest | string {
  const r = { properties: [] as [string, string][], timerProperties: [] as [string, string][], setenv: [] as string[], collect: false, remainAfterExit: false, sameDir: false, quiet: false } as {
    -readonly [K in keyof RunRequest]: RunRequest[K];
  } & { properties: [string, string][]; timerProperties: [string, string][]; setenv: string[] };
  let i = 0;
  const valueOf = (arg: string, long: string): string | undefined => {
    if (arg.startsWith(`${long}=`)) return arg.slice(long.length + 1);
    i++;
    return argv[i];
  };
  const assignment = (text: string | undefined, known: ReadonlySet<string>): [string, string] | string => {
    const eq = text?.indexOf("=") ?? -1;
    if (text === undefined || eq <= 0) return `Not an assignment: ${text ?? ""}`;
    const key = text.slice(0, eq);
    if (!known.has(key)) return `Unknown assignment: ${text}`;
    return [key, text.slice(eq + 1)];
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    const name = a.split("=")[0];
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    if (UNSUPPORTED.has(name)) return `${name} is not supported by systemd-run on a simulated host`;
    if (name === "--unit" || a === "-u") r.unit = valueOf(a, name);
    else if (name === "--description") r.description = valueOf(a, name);
    else if (name === "--property" || a === "-p") {
      const p = assignment(valueOf(a, name), SERVICE_PROPERTIES);
      if (typeof p === "string") return p;
      r.properties.push(p);
    } else if (name === "--timer-property") {
      const p = assignment(valueOf(a, name), TIMER_PROPERTIES);
      if (typeof p === "string") return p;
      r.timerProperties.push(p);
    } else if (name === "--on-active") {
      const v = valueOf(a, name) ?? "";
      const ms = parseTimespanMs(v);
      if (ms === undefined || !Number.isFinite(ms)) return `Failed to parse timer value: ${v}`;
      r.onActiveMs = ms;
    } else if (name === "--setenv" || a === "-E") {
      const v = valueOf(a, name);
      if (v === undefined) return "option requires an argument -- 'E'";
      r.setenv.push(v);
    } else if (name === "--working-directory") r.workingDirectory = valueOf(a, name);
    else if (a === "--collect" || a === "-G") r.collect = true;
    else if (a === "--remain-after-exit" || a === "-r") r.remainAfterExit = true;
    else if (a === "--same-dir" || a === "-d") r.sameDir = true;
    else if (a === "--quiet" || a === "-q") r.quiet = true;
    else if (a === "--no-block" || a === "--no-ask-password" || a === "--system") continue;
    else if (name === "--service-type") r.properties.push(["Type", valueOf(a, name) ?? ""]);
    else return a.startsWith("--") ? `unrecognized option '${a}'` : `invalid option -- '${a.slice(1, 2)}'`;
    if ((name === "--unit" || a === "-u" || name === "--description" || name === "--working-directory") && argv[i] === undefined) return `option '${name}' requires an argument`;
  }
  r.command = argv.slice(i);
  if (r.command.length === 0) return "Command line to execute required.";
  return r;
}

/**
 * When a timer set to elapse at `dueMs` fires: systemd coalesces wakeups inside the
 * AccuracySec window, picking the latest whole minute, 10 s, 1 s or 250 ms mark (shifted by a
 * per-boot perturbation) that is not before `dueMs`.
 */
export function coalescedElapse(dueMs: number, accuracyMs: number, perturbMs: number): number {
  const end = dueMs + accuracyMs;
  for (const step of [60_000, 10_000, 1000, 250]) {
    const shift = perturbMs % step;
    let c = Math.floor((end - shift) / step) * step + shift;
    if (c > end) c -= step;
    if (c >= dueMs) return c;
  }
  return end;
}

/** The per-boot timer perturbation (systemd derives it from the boot id). */
function perturbation(): number {
  return createHash("sha256").update(currentBootId()).digest().readUInt32BE(0) % 60_000;
}

function findExecutable(command: string, searchPath: string): string | undefined {
  if (command.includes("/")) return fs.existsSync(command) ? path.resolve(command) : undefined;
  for (const dir of searchPath.split(":")) {
    const candidate = path.join(dir || ".", command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // Try the next folder.
    }
  }
  return undefined;
}

function describe(argv: readonly string[]): string {
  return argv.map((a) => (/[\s"]/.test(a) || a === "" ? `"${a.replace(/(["\\])/g, "\\$1")}"` : a)).join(" ");
}

/**
 * The environment a unit starts with: PID 1's (the session PATH, which on a simulated host
 * also holds the machine's /usr/bin, and the simulation's variables), not the caller's.
 */
function managerEnvironment(callerEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = { PATH: SESSION_PATH, LANG: "C.UTF-8" };
  for (const k of Object.values(ENV)) {
    const v = callerEnv[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** Runs one systemd-run command line; returns its exit status. */
export async function systemdRun(argv: readonly string[], io: Io, callerEnv: NodeJS.ProcessEnv = process.env): Promise<number> {
  const req = parseRunArgs(argv);
  if (typeof req === "string") {
    io.err(`${req}\n`);
    return 1;
  }
  const executable = findExecutable(req.command[0], callerEnv.PATH ?? SESSION_PATH);
  if (!executable) {
    io.err(`Failed to find executable ${req.command[0]}: No such file or directory\n`);
    return 1;
  }
  const prop = (k: string) => [...req.properties].reverse().find(([key]) => key === k)?.[1];
  const tprop = (k: string) => [...req.timerProperties].reverse().find(([key]) => key === k)?.[1];
  const yes = (v: string | undefined) => v !== undefined && /^(1|yes|true|on)$/i.test(v);
  const env = managerEnvironment(callerEnv);
  for (const e of [...req.properties.filter(([k]) => k === "Environment").flatMap(([, v]) => v.split(/\s+/).filter(Boolean)), ...req.setenv]) {
    const eq = e.indexOf("=");
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
    else if (callerEnv[e] !== undefined) env[e] = callerEnv[e] as string;
  }
  const timeoutStop = prop("TimeoutStopSec");
  const timeoutStopMs = timeoutStop === undefined ? DEFAULT_TIMEOUT_STOP_MS : parseTimespanMs(timeoutStop);
  if (timeoutStopMs === undefined) {
    io.err(`Failed to parse TimeoutStopSec= value: ${timeoutStop}\n`);
    return 1;
  }
  const base = (req.unit ?? `run-r${randomBytes(16).toString("hex")}`).replace(/\.(service|timer)$/, "");
  const serviceId = unitName(base);
  const timed = req.onActiveMs !== undefined;
  const now = Date.now();
  const service: ServiceUnit = {
    kind: "service",
    id: serviceId,
    description: req.description ?? prop("Description") ?? describe([executable, ...req.command.slice(1)]),
    activeState: timed ? "inactive" : "activating",
    subState: timed ? "dead" : "start",
    result: "success",
    supervisorPid: 0,
    stateChangeMs: now,
    argv: [executable, ...req.command.slice(1)],
    env,
    workingDirectory: prop("WorkingDirectory") ?? req.workingDirectory ?? (req.sameDir ? process.cwd() : "/"),
    remainAfterExit: req.remainAfterExit || yes(prop("RemainAfterExit")),
    collect: req.collect || prop("CollectMode") === "inactive-or-failed",
    timeoutStopMs,
    properties: Object.fromEntries(req.properties),
    mainPid: 0,
    execMainCode: 0,
    execMainStatus: 0,
    execMainStartMs: 0,
    execMainExitMs: 0,
  };
  const kindWord = timed ? "timer" : "service";
  if (!createUnit(service)) {
    io.err(`Failed to start transient ${kindWord} unit: Unit ${serviceId} was already loaded or has a fragment file.\n`);
    return 1;
  }
  if (req.onActiveMs !== undefined) {
    const accuracy = tprop("AccuracySec");
    const accuracyMs = accuracy === undefined ? DEFAULT_ACCURACY_MS : parseTimespanMs(accuracy);
    if (accuracyMs === undefined || !Number.isFinite(accuracyMs)) {
      removeUnit(serviceId);
      io.err(`Failed to parse AccuracySec= value: ${accuracy}\n`);
      return 1;
    }
    const timerId = `${base}.timer`;
    const timer: TimerUnit = {
      kind: "timer",
      id: timerId,
      description: req.description ?? `[Timer] ${service.description}`,
      activeState: "activating",
      subState: "dead",
      result: "success",
      supervisorPid: 0,
      stateChangeMs: now,
      unit: serviceId,
      onActiveMs: req.onActiveMs,
      accuracyMs,
      elapseAtMs: coalescedElapse(now + req.onActiveMs, accuracyMs, perturbation()),
    };
    if (!createUnit(timer)) {
      removeUnit(serviceId);
      io.err(`Failed to start transient timer unit: Unit ${timerId} was already loaded or has a fragment file.\n`);
      return 1;
    }
    startSupervisor(timerId, __dirname);
    await waitUntil(() => readUnit(timerId)?.activeState !== "activating", START_WAIT_MS);
    if (!req.quiet) io.err(`Running timer as unit: ${timerId}\nWill run service as unit: ${serviceId}\n`);
    return 0;
  }
  startSupervisor(serviceId, __dirname);
  const started = await waitUntil(() => readUnit(serviceId)?.activeState !== "activating", START_WAIT_MS);
  if (!started) {
    io.err(`Job for ${serviceId} did not start within ${START_WAIT_MS / 1000} s; see "journalctl -u ${serviceId}".\n`);
    return 1;
  }
  if (!req.quiet) io.err(`Running as unit: ${serviceId}\n`);
  return 0;
}

if (require.main === module) {
  runProgram("systemd-run", (argv) => systemdRun(argv, processIo));
}
