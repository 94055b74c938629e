/**
 * The simulated fleet's command line: parsing and usage. Pure; cli.ts does the work.
 */
import { DEFAULT_TIMINGS, FAULTS, isFaultName, type FaultName, type SimTimings } from "./types";

/** One parsed command. */
export type SimCommand =
  | UpCommand
  | { readonly kind: "down"; readonly stateDir: string }
  | { readonly kind: "status"; readonly stateDir: string; readonly json: boolean }
  | { readonly kind: "fault"; readonly stateDir: string; readonly host: string; readonly fault: FaultName; readonly on: boolean; readonly system?: string }
  | { readonly kind: "timeline"; readonly stateDir: string; readonly host?: string; readonly json: boolean }
  | { readonly kind: "inventory"; readonly stateDir: string; readonly template: string; readonly out?: string }
  | { readonly kind: "help" };

/** `up` and the daemon it starts take the same options. */
export interface UpCommand {
  readonly kind: "up" | "daemon";
  readonly stateDir: string;
  readonly hosts: number | readonly string[];
  readonly timings: Partial<SimTimings>;
}

/** Bad command line; the CLI prints the message and the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where the fleet keeps its state unless --state-dir says otherwise (relative to the current folder). */
export const DEFAULT_STATE_DIR = ".sim";

/** --down-ms ↔ downMs, for every timing knob. */
const TIMING_FLAGS = Object.fromEntries(
  (Object.keys(DEFAULT_TIMINGS) as Array<keyof SimTimings>).map((k) => [`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, k]),
) as Record<string, keyof SimTimings>;

/** The usage text printed for help and after a usage error. */
export const USAGE = [
  "usage: npm run sim -- <command> [options]      (needs root)",
  "",
  "  up --hosts N [--host-names a,b,c] [timings] [--state-dir DIR]",
  "        start N simulated NixOS hosts and the Kubernetes control plane with their kubelets in the background",
  "  down [--state-dir DIR]                         stop the fleet and remove everything it created",
  "  status [--json] [--state-dir DIR]              hosts, addresses, power state and faults",
  "  fault <host> <fault> [on|off] [--system STORE-PATH] [--state-dir DIR]",
  "        kubelet-never-ready, degraded and activation-fails break the given system, else every system built after now",
  `        faults: ${FAULTS.join(", ")}`,
  "  timeline [--host NAME] [--json] [--state-dir DIR]",
  "  inventory TEMPLATE [--out FILE] [--state-dir DIR]",
  "        write TEMPLATE (an inventory without addresses and host keys) filled in for the running",
  "        fleet, to FILE (default: inventory.yaml in the state folder)",
  "",
  `  timings (ms): ${Object.keys(TIMING_FLAGS)
    .map((f) => `${f} (${DEFAULT_TIMINGS[TIMING_FLAGS[f]]})`)
    .join(", ")}`,
  `  --state-dir defaults to ${DEFAULT_STATE_DIR} in the current folder.`,
].join("\n");

/** Parses argv (without node and the script). Throws UsageError on anything unknown. */
export function parseArgs(argv: readonly string[]): SimCommand {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") return { kind: "help" };
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1));
    else if (a === "--json") flags.set(a, true);
    else if (i + 1 < rest.length && !rest[i + 1].startsWith("--")) flags.set(a, rest[++i]);
    else throw new UsageError(`${a} needs a value`);
  }
  const take = (name: string): string | undefined => {
    const v = flags.get(name);
    flags.delete(name);
    if (v === true) throw new UsageError(`${name} needs a value`);
    return v;
  };
  const takeBool = (name: string): boolean => flags.delete(name);
  const stateDir = take("--state-dir") ?? DEFAULT_STATE_DIR;
  const done = <T extends SimCommand>(c: T, maxPositional = 0): T => {
    if (flags.size > 0) throw new UsageError(`unknown option ${[...flags.keys()][0]} for ${command}`);
    if (positional.length > maxPositional) throw new UsageError(`unexpected argument ${JSON.stringify(positional[maxPositional])} for ${command}`);
    return c;
  };
  switch (command) {
    case "up":
    case "daemon": {
      const count = take("--hosts");
      const names = take("--host-names");
      let hosts: number | string[];
      if (names !== undefined) {
        hosts = names.split(",").filter(Boolean);
        if (count !== undefined && Number(count) !== hosts.length) throw new UsageError(`--hosts ${count} does not match the ${hosts.length} --host-names`);
      } else {
        if (count === undefined) throw new UsageError("up needs --hosts N");
        hosts = positiveInt("--hosts", count);
      }
      const timings: Partial<Record<keyof SimTimings, number>> = {};
      for (const [flag, key] of Object.entries(TIMING_FLAGS)) {
        const v = take(flag);
        if (v !== undefined) timings[key] = nonNegativeInt(flag, v);
      }
      return done({ kind: command, stateDir, hosts, timings });
    }
    case "down":
      return done({ kind: "down", stateDir });
    case "status":
      return done({ kind: "status", stateDir, json: takeBool("--json") });
    case "fault": {
      const [host, fault, state = "on"] = positional;
      if (!host || !fault) throw new UsageError("fault needs <host> <fault> [on|off]");
      if (!isFaultName(fault)) throw new UsageError(`unknown fault ${JSON.stringify(fault)}; faults: ${FAULTS.join(", ")}`);
      if (state !== "on" && state !== "off") throw new UsageError(`fault state must be on or off, got ${JSON.stringify(state)}`);
      const system = take("--system");
      return done(system === undefined ? { kind: "fault", stateDir, host, fault, on: state === "on" } : { kind: "fault", stateDir, host, fault, on: state === "on", system }, 3);
    }
    case "inventory": {
      const [template] = positional;
      if (!template) throw new UsageError("inventory needs a template inventory file, e.g. inventory/dev.yaml");
      const out = take("--out");
      return done(out === undefined ? { kind: "inventory", stateDir, template } : { kind: "inventory", stateDir, template, out }, 1);
    }
    case "timeline": {
      const host = take("--host");
      return done(host === undefined ? { kind: "timeline", stateDir, json: takeBool("--json") } : { kind: "timeline", stateDir, host, json: takeBool("--json") });
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** The daemon's argv for an `up` command. */
export function daemonArgs(c: UpCommand, absoluteStateDir: string): string[] {
  const args = ["daemon", "--state-dir", absoluteStateDir];
  if (typeof c.hosts === "number") args.push("--hosts", String(c.hosts));
  else args.push("--host-names", c.hosts.join(","));
  for (const [flag, key] of Object.entries(TIMING_FLAGS)) {
    const v = c.timings[key];
    if (v !== undefined) args.push(flag, String(v));
  }
  return args;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of at least 1, got ${JSON.stringify(v)}`);
  return n;
}

function nonNegativeInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number of milliseconds, got ${JSON.stringify(v)}`);
  return n;
}
