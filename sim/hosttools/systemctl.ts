/**
 * systemctl on a simulated host: the verbs a rollout uses (is-system-running, --failed,
 * is-active, reboot), answered from the state in system-state.ts.
 */
import { processIo, runProgram, type Io } from "./cli";
import { readFaults } from "./faults";
import { requestReboot } from "./reboot";
import { failedUnits, loadedUnits, readStateInput, systemState, unitState, type StateInput } from "./system-state";

interface Options {
  quiet: boolean;
  legend: boolean;
  failedOnly: boolean;
  wait: boolean;
}

const IGNORED_OPTIONS = new Set(["--no-pager", "--plain", "--full", "-l", "--all", "-a", "--system", "--no-ask-password", "--now"]);
const POWER_VERBS = new Set(["poweroff", "halt", "kexec", "suspend", "hibernate", "hybrid-sleep", "suspend-then-hibernate", "soft-reboot"]);
const NOOP_UNIT_VERBS = new Set(["start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "enable", "disable"]);

function unitTable(s: StateInput, units: readonly string[], opts: Options): string {
  const rows = units.map((u) => {
    const state = unitState(s, u);
    const sub = state === "active" ? (u.endsWith(".service") ? "running" : "active") : state === "failed" ? "failed" : "start";
    return { mark: state === "failed" ? "●" : " ", unit: u, load: "loaded", active: state, sub };
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
  const opts: Options = { quiet: false, legend: true, failedOnly: false, wait: false };
  const words: string[] = [];
  for (const a of argv) {
    if (a === "-q" || a === "--quiet") opts.quiet = true;
    else if (a === "--no-legend") opts.legend = false;
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
      io.out(unitTable(s, opts.failedOnly ? failedUnits(s) : loadedUnits(s), opts));
      return 0;
    }
    case "is-active":
    case "is-failed": {
      if (units.length === 0) {
        io.err("Too few arguments.\n");
        return 1;
      }
      const s = readStateInput(degraded());
      const states = units.map((u) => unitState(s, u));
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
        const st = unitState(s, u);
        if (st === "inactive" && !loadedUnits(s).includes(u)) {
          io.err(`Unit ${u} could not be found.\n`);
          code = Math.max(code, 4);
          continue;
        }
        io.out(`${st === "failed" ? "×" : "●"} ${u}\n     Loaded: loaded (/etc/systemd/system/${u}; enabled; preset: enabled)\n     Active: ${st}\n`);
        if (st !== "active") code = Math.max(code, 3);
      }
      return code;
    }
    case "daemon-reload":
    case "daemon-reexec":
      return 0;
    case "reboot":
      return requestReboot(io);
    default:
      if (NOOP_UNIT_VERBS.has(verb)) {
        const s = readStateInput(degraded());
        const unknown = units.find((u) => !loadedUnits(s).includes(u.includes(".") ? u : `${u}.service`));
        if (unknown !== undefined) {
          io.err(`Failed to ${verb} ${unknown}: Unit ${unknown.includes(".") ? unknown : `${unknown}.service`} not found.\n`);
          return 5;
        }
        return 0;
      }
      if (POWER_VERBS.has(verb)) {
        io.err(`systemctl ${verb}: not available on a simulated host (it only reboots); use 'systemctl reboot' or 'reboot'.\n`);
        return 1;
      }
      io.err(`Unknown command verb '${verb}'.\n`);
      return 1;
  }
}

if (require.main === module) {
  runProgram("systemctl", (argv) => systemctl(argv, processIo));
}
