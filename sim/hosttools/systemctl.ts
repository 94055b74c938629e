/**
 * systemctl on a simulated host: the verbs a rollout uses (is-system-running, --failed,
 * is-active, show, status, start/stop/restart, reboot [--boot-loader-entry=]), answered from
 * the state in system-state.ts, the units stopped by hand (system-units.ts, unit-control.ts)
 * and the transient units of transient.ts.
 */
import * as fs from "node:fs";
import { processIo, runProgram, type Io } from "./cli";
import { setOneShot } from "./efivars";
import { readFaults } from "./faults";
import { requestReboot } from "./reboot";
import { failedUnits, loadedUnits, readStateInput, systemState, type StateInput } from "./system-state";
import { listUnits, readUnit, unitName } from "./transient";
import { resetFailed, stopTransient, transientStatus, unitProperties, viewUnit } from "./unit-query";
import { controlUnits, type UnitVerb } from "./unit-control";
import { controlFromEnv } from "./control";
import { HOST } from "./paths";
import { bootEntryIds } from "./bootctl";

interface Options {
  quiet: boolean;
  legend: boolean;
  /** --all: list-units shows inactive units too. */
  all: boolean;
  failedOnly: boolean;
  wait: boolean;
  value: boolean;
  properties: string[];
  bootLoaderEntry: string | undefined;
}

/** How long `systemctl stop` waits for a transient unit to stop (systemd waits for the job). */
const STOP_WAIT_MS = 120_000;

const IGNORED_OPTIONS = new Set(["--no-pager", "--no-block", "--plain", "--full", "-l", "--system", "--no-ask-password", "--now"]);
const POWER_VERBS = new Set(["poweroff", "halt", "kexec", "suspend", "hibernate", "hybrid-sleep", "suspend-then-hibernate", "soft-reboot"]);
/** Verbs that change nothing a simulated host shows: they only check that the units exist. */
const NOOP_UNIT_VERBS = new Set(["reload", "try-restart", "enable", "disable"]);

function unitTable(s: StateInput, units: readonly string[], opts: Options): string {
  const rows = units.map((u) => {
    const v = viewUnit(s, u);
    return { mark: v.activeState === "failed" ? "●" : " ", unit: u, load: v.loadState, active: v.activeState, sub: v.subState };
  });
  const w = (k: "unit" | "active" | "sub", title: string) => Math.max(title.length, ...rows.map((r) => r[k].length));
  const [wu, wa, ws] = [w("unit", "UNIT"), w("active", "ACTIVE"), w("sub", "SUB")];
  const line = (m: string, u: string, l: string, a: string, sb: string, d: string) => `${m} ${u.padEnd(wu)} ${l.padEnd(6)} ${a.padEnd(wa)} ${sb.padEnd(ws)} ${d}`.trimEnd() + "\n";
  let text = opts.legend ? line(" ", "UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION") : "";
  for (const r of rows) text += line(r.mark, r.unit, r.load, r.active, r.sub, r.unit);
  if (opts.legend) text += `\n${rows.length} loaded units listed.\n`;
  return text;
}

async function isSystemRunning(io: Io, opts: Options, degraded: boolean): Promise<number> {
  let s = readStateInput(degraded);
  if (opts.wait && systemState(s) === "starting") {
    const deadline = (s.bootedAtMs ?? 0) + s.settleMs + 1000;
    while (systemState(s) === "starting" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      s = readStateInput(degraded);
    }
  }
  const state = systemState(s);
  if (!opts.quiet) io.out(`${state}\n`);
  return state === "running" ? 0 : 1;
}

/** Runs one systemctl command line; returns its exit status. */
export async function systemctl(argv: readonly string[], io: Io): Promise<number> {
  const opts: Options = { quiet: false, legend: true, all: false, failedOnly: false, wait: false, value: false, properties: [], bootLoaderEntry: undefined };
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-q" || a === "--quiet") opts.quiet = true;
    else if (a === "-p" || a === "--property" || a === "-P") {
      opts.properties.push(...(argv[++i] ?? "").split(","));
      if (a === "-P") opts.value = true;
    } else if (a.startsWith("--property=")) opts.properties.push(...a.slice("--property=".length).split(","));
    else if (a.startsWith("-p") && a.length > 2) opts.properties.push(...a.slice(2).split(","));
    else if (a === "--value") opts.value = true;
    else if (a.startsWith("--boot-loader-entry=")) opts.bootLoaderEntry = a.slice("--boot-loader-entry=".length);
    else if (a === "--no-legend") opts.legend = false;
    else if (a === "--all" || a === "-a") opts.all = true;
    else if (a === "--failed" || a === "--state=failed") opts.failedOnly = true;
    else if (a === "--wait") opts.wait = true;
    else if (IGNORED_OPTIONS.has(a) || /^--(type|state|output|lines)=/.test(a)) continue;
    else if (a.startsWith("-")) {
      io.err(`systemctl: ${a.startsWith("--") ? `unrecognized option '${a}'` : `invalid option -- '${a.slice(1, 2)}'`}\n`);
      return 1;
    } else words.push(a);
  }
  const [verb = "list-units", ...units] = words;
  const degraded = () => readFaults().has("degraded");
  switch (verb) {
    case "is-system-running":
      return isSystemRunning(io, opts, degraded());
    case "list-units": {
      const s = readStateInput(degraded());
      const transient = listTransient();
      const all = [...new Set([...loadedUnits(s), ...transient])].sort();
      // Like systemd, only units that are active or failed unless --all.
      const shown = all.filter((u) => (opts.failedOnly ? viewUnit(s, u).activeState === "failed" : opts.all || viewUnit(s, u).activeState !== "inactive"));
      io.out(unitTable(s, shown, opts));
      return 0;
    }
    case "show": {
      const s = readStateInput(degraded());
      const wanted = opts.properties.filter((p) => p !== "");
      const blocks = units.map((u) => {
        const props = unitProperties(viewUnit(s, u));
        const chosen = wanted.length === 0 ? props : wanted.map((w) => props.find(([k]) => k === w)).filter((p): p is readonly [string, string] => p !== undefined);
        return chosen.map(([k, v]) => (opts.value ? `${v}\n` : `${k}=${v}\n`)).join("");
      });
      io.out(blocks.join("\n"));
      return 0;
    }
    case "is-active":
    case "is-failed": {
      if (units.length === 0) {
        io.err("Too few arguments.\n");
        return 1;
      }
      const s = readStateInput(degraded());
      const states = units.map((u) => viewUnit(s, u).activeState);
      if (!opts.quiet) io.out(states.map((st) => `${st}\n`).join(""));
      if (verb === "is-active") return states.every((st) => st === "active") ? 0 : 3;
      return states.some((st) => st === "failed") ? 0 : 1;
    }
    case "status": {
      const s = readStateInput(degraded());
      if (units.length === 0) {
        io.out(`● ${s.hostName ?? "localhost"}\n    State: ${systemState(s)}\n    Units: ${loadedUnits(s).length} loaded\n   Failed: ${failedUnits(s).length} units\n`);
        return 0;
      }
      let code = 0;
      for (const u of units) {
        const v = viewUnit(s, u);
        if (v.transient) {
          io.out(transientStatus(v.transient));
          if (v.activeState !== "active") code = Math.max(code, 3);
          continue;
        }
        const st = v.activeState;
        if (v.loadState === "not-found") {
          io.err(`Unit ${u} could not be found.\n`);
          code = Math.max(code, 4);
          continue;
        }
        const mark = st === "failed" ? "×" : st === "inactive" ? "○" : "●";
        io.out(`${mark} ${v.id}\n     Loaded: loaded (/etc/systemd/system/${v.id}; enabled; preset: enabled)\n     Active: ${st} (${v.subState})\n`);
        if (st !== "active") code = Math.max(code, 3);
      }
      return code;
    }
    case "daemon-reload":
    case "daemon-reexec":
      return 0;
    case "reboot":
      if (opts.bootLoaderEntry !== undefined) {
        const entries = bootEntryIds();
        const wanted = opts.bootLoaderEntry;
        if (wanted !== "" && !entries.some((e) => e === wanted || e === `${wanted}.conf`)) {
          io.err(`Boot loader entry '${wanted}' not known.\n`);
          return 1;
        }
        setOneShot(wanted);
      }
      return requestReboot(io);
    case "stop":
    case "reset-failed":
    case "kill": {
      const transient = units.map((u) => readUnit(unitName(u)));
      if (transient.every((t) => t !== undefined)) {
        for (const t of transient) {
          if (!t) continue;
          if (verb === "reset-failed") resetFailed(t);
          else {
            const problem = await stopTransient(t, STOP_WAIT_MS);
            if (problem) {
              io.err(`${problem}\n`);
              return 1;
            }
          }
        }
        return 0;
      }
      if (verb === "reset-failed") return 0;
      if (verb === "kill") return noopUnitVerb(verb, units, io, degraded());
      // Transient units among the system's own: each stopped its own way.
      for (const t of transient) {
        const problem = t ? await stopTransient(t, STOP_WAIT_MS) : undefined;
        if (problem) {
          io.err(`${problem}\n`);
          return 1;
        }
      }
      return systemUnits("stop", units.filter((_u, i) => transient[i] === undefined), io, degraded());
    }
    case "start":
    case "restart":
      return systemUnits(verb, units, io, degraded());
    case "reload-or-restart":
      // Starts the unit when it is not running, like restart.
      return systemUnits("restart", units, io, degraded());
    default:
      if (NOOP_UNIT_VERBS.has(verb)) return noopUnitVerb(verb, units, io, degraded());
      if (POWER_VERBS.has(verb)) {
        io.err(`systemctl ${verb}: not available on a simulated host (it only reboots); use 'systemctl reboot' or 'reboot'.\n`);
        return 1;
      }
      io.err(`Unknown command verb '${verb}'.\n`);
      return 1;
  }
}

/** The verbs that change nothing on a simulated host: they only check that the units exist. */
function noopUnitVerb(verb: string, units: readonly string[], io: Io, degraded: boolean): number {
  const s = readStateInput(degraded);
  const unknown = units.find((u) => !loadedUnits(s).includes(unitName(u)));
  if (unknown !== undefined) {
    io.err(`Failed to ${verb} ${unitName(unknown)}: Unit ${unitName(unknown)} not found.\n`);
    return 5;
  }
  return 0;
}

/**
 * start/stop/restart of the running system's units (unit-control.ts). The fleet, which runs sshd
 * for the host, is told as after an activation of the running system.
 */
function systemUnits(verb: UnitVerb, units: readonly string[], io: Io, degraded: boolean): Promise<number> {
  return controlUnits(verb, units, readStateInput(degraded), io, async () => {
    const control = controlFromEnv();
    if (!control) return;
    await control.servicesChanged(fs.realpathSync(HOST.currentSystem));
  });
}

function listTransient(): string[] {
  return listUnits().map((u) => u.id);
}

if (require.main === module) {
  runProgram("systemctl", (argv) => systemctl(argv, processIo));
}
