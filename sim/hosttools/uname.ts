/**
 * uname of a simulated NixOS system (coreutils' options and output). The uname(2) system call
 * answers with the machine's kernel, so the kernel's name and build come from the files a
 * simulated host's booted kernel writes instead (/proc/sys/kernel/osrelease and version,
 * host-facts.ts); the node name is the host's own (its UTS namespace).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { processIo, runProgram, type Io } from "./cli";

/** What uname prints, field by field, in its output order. */
export interface UnameFacts {
  readonly kernelName: string;
  readonly nodename: string;
  readonly release: string;
  readonly version: string;
  readonly machine: string;
  readonly processor: string;
  readonly hardwarePlatform: string;
  readonly operatingSystem: string;
}

type Field = keyof UnameFacts;

/** The fields in output order, with their short and long options. */
const FIELDS: ReadonlyArray<readonly [Field, string, string]> = [
  ["kernelName", "s", "kernel-name"],
  ["nodename", "n", "nodename"],
  ["release", "r", "kernel-release"],
  ["version", "v", "kernel-version"],
  ["machine", "m", "machine"],
  ["processor", "p", "processor"],
  ["hardwarePlatform", "i", "hardware-platform"],
  ["operatingSystem", "o", "operating-system"],
];

/** Fields `-a` leaves out when they say "unknown" (as coreutils does). */
const OMITTED_WHEN_UNKNOWN: ReadonlySet<Field> = new Set<Field>(["processor", "hardwarePlatform"]);

const LONG_OPTIONS = ["all", ...FIELDS.map(([, , long]) => long), "help", "version"];

const USAGE = `Usage: uname [OPTION]...
Print certain system information.  With no OPTION, same as -s.

  -a, --all                print all information, in the following order,
                             except omit -p and -i if unknown:
  -s, --kernel-name        print the kernel name
  -n, --nodename           print the network node hostname
  -r, --kernel-release     print the kernel release
  -v, --kernel-version     print the kernel version
  -m, --machine            print the machine hardware name
  -p, --processor          print the processor type (non-portable)
  -i, --hardware-platform  print the hardware platform (non-portable)
  -o, --operating-system   print the operating system
      --help        display this help and exit
      --version     output version information and exit
`;

function tryHelp(io: Io, message: string): number {
  io.err(`uname: ${message}\nTry 'uname --help' for more information.\n`);
  return 1;
}

/** Runs one uname command line against `facts`; returns its exit status. */
export function uname(argv: readonly string[], facts: UnameFacts, io: Io): number {
  const wanted = new Set<Field>();
  let all = false;
  let endOfOptions = false;
  for (const a of argv) {
    if (endOfOptions || a === "-" || !a.startsWith("-")) return tryHelp(io, `extra operand '${a}'`);
    if (a === "--") {
      endOfOptions = true;
      continue;
    }
    if (a.startsWith("--")) {
      const name = a.slice(2);
      const matches = LONG_OPTIONS.filter((o) => o.startsWith(name));
      const chosen = LONG_OPTIONS.includes(name) ? name : matches.length === 1 ? matches[0] : undefined;
      if (chosen === undefined) {
        return tryHelp(io, matches.length > 1 ? `option '${a}' is ambiguous; possibilities: ${matches.map((m) => `'--${m}'`).join(" ")}` : `unrecognized option '${a}'`);
      }
      if (chosen === "help") {
        io.out(USAGE);
        return 0;
      }
      if (chosen === "version") {
        io.out("uname (GNU coreutils) 9.5\n");
        return 0;
      }
      if (chosen === "all") all = true;
      else wanted.add(FIELDS.find(([, , long]) => long === chosen)![0]);
      continue;
    }
    for (const letter of a.slice(1)) {
      if (letter === "a") {
        all = true;
        continue;
      }
      const field = FIELDS.find(([, short]) => short === letter);
      if (!field) return tryHelp(io, `invalid option -- '${letter}'`);
      wanted.add(field[0]);
    }
  }
  if (!all && wanted.size === 0) wanted.add("kernelName");
  const shown = FIELDS.map(([f]) => f).filter((f) => wanted.has(f) || (all && !(OMITTED_WHEN_UNKNOWN.has(f) && facts[f] === "unknown")));
  io.out(`${shown.map((f) => facts[f]).join(" ")}\n`);
  return 0;
}

/** The facts on a simulated host: its booted kernel's files, its own host name. */
export function hostUnameFacts(): UnameFacts {
  const read = (file: string) => fs.readFileSync(file, "utf8").trim();
  return {
    kernelName: "Linux",
    nodename: os.hostname(),
    release: read("/proc/sys/kernel/osrelease"),
    version: read("/proc/sys/kernel/version"),
    machine: os.machine(),
    processor: "unknown",
    hardwarePlatform: "unknown",
    operatingSystem: "GNU/Linux",
  };
}

if (require.main === module) {
  runProgram("uname", async (argv) => uname(argv, hostUnameFacts(), processIo));
}
