/**
 * journalctl on a simulated host: the journal of journal.ts, filtered by unit (-u, which also
 * shows PID 1's messages about the unit) and boot (-b), in the short, cat or json format.
 *
 *   journalctl [-u UNIT]... [-b] [-n N] [-o short|short-iso|cat|json] [--no-pager] [-q]
 */
import * as fs from "node:fs";
import { processIo, runProgram, type Io } from "./cli";
import { currentBootId, readJournal, type JournalEntry } from "./journal";
import { HOST } from "./paths";
import { unitName } from "./transient";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function hostName(): string {
  try {
    return fs.readFileSync(`${HOST.currentSystem}/etc/hostname`, "utf8").trim();
  } catch {
    return "localhost";
  }
}

function shortTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function format(e: JournalEntry, output: string, host: string): string {
  switch (output) {
    case "cat":
      return e.msg;
    case "json":
      return JSON.stringify({
        __REALTIME_TIMESTAMP: String(e.t * 1000),
        _BOOT_ID: e.boot.replace(/-/g, ""),
        _HOSTNAME: host,
        SYSLOG_IDENTIFIER: e.ident,
        _PID: String(e.pid),
        ...(e.pid === 1 ? { UNIT: e.unit } : { _SYSTEMD_UNIT: e.unit }),
        MESSAGE: e.msg,
      });
    case "short-iso":
      return `${new Date(e.t).toISOString().replace(/\.\d+Z$/, "+00:00")} ${host} ${e.ident}[${e.pid}]: ${e.msg}`;
    default:
      return `${shortTime(e.t)} ${host} ${e.ident}[${e.pid}]: ${e.msg}`;
  }
}

/** Runs one journalctl command line; returns its exit status. */
export async function journalctl(argv: readonly string[], io: Io): Promise<number> {
  const units: string[] = [];
  let thisBoot = false;
  let lines: number | undefined;
  let output = "short";
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [name, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (name === "-u" || name === "--unit") units.push(unitName(value() ?? ""));
    else if (a.startsWith("-u") && a.length > 2) units.push(unitName(a.slice(2)));
    else if (a === "-b" || a === "--boot" || a === "-b0" || a === "--boot=0") thisBoot = true;
    else if (name === "-n" || name === "--lines") lines = Number(value());
    else if (name === "-o" || name === "--output") output = value() ?? "short";
    else if (a === "-q" || a === "--quiet") quiet = true;
    else if (a === "--no-pager" || a === "--no-hostname" || a === "-a" || a === "--all" || a === "--system") continue;
    else {
      io.err(`journalctl: ${a.startsWith("--") ? `unrecognized option '${a}'` : a.startsWith("-") ? `invalid option -- '${a.slice(1, 2)}'` : `unsupported match '${a}' (use -u UNIT)`}\n`);
      return 1;
    }
  }
  if (!["short", "short-iso", "cat", "json"].includes(output)) {
    io.err(`Unknown output format '${output}'.\n`);
    return 1;
  }
  if (lines !== undefined && !(Number.isInteger(lines) && lines >= 0)) {
    io.err(`Failed to parse lines '${argv.join(" ")}'\n`);
    return 1;
  }
  const boot = currentBootId();
  let entries = readJournal().filter((e) => (units.length === 0 || units.includes(e.unit)) && (!thisBoot || e.boot === boot));
  if (lines !== undefined) entries = entries.slice(Math.max(0, entries.length - lines));
  if (entries.length === 0) {
    if (!quiet && output !== "json" && output !== "cat") io.out("-- No entries --\n");
    return 0;
  }
  const host = hostName();
  io.out(entries.map((e) => `${format(e, output, host)}\n`).join(""));
  return 0;
}

if (require.main === module) {
  runProgram("journalctl", (argv) => journalctl(argv, processIo));
}
