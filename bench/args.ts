/**
 * The benchmark's command line: `npm run bench -- [--hosts 3[,10]] [--quick] [--build-ms MS] [--log-dir DIR]`.
 * Pure; run.ts does the work.
 */

/** What to run. */
export interface BenchArgs {
  /** Fleet sizes, each measured on a fresh fleet. */
  readonly hosts: readonly number[];
  /** rollout.maxUnavailable values of the budget rollouts. */
  readonly budgets: readonly number[];
  /** How long each simulated host takes to build a new system. */
  readonly buildMs: number;
  /** How many times the empty program is previewed (the fastest counts). */
  readonly emptyPreviews: number;
  /** Where each rollout's stamped CLI output and timeline go, one file per rollout (none: not written). */
  readonly logDir?: string;
  readonly help: boolean;
}

export const BENCH_USAGE = [
  "usage: npm run bench -- [--hosts N[,N...]] [--quick] [--build-ms MS] [--log-dir DIR]      (needs root)",
  "",
  "  --hosts      fleet sizes to measure, each on a fresh simulated fleet (default 3,10)",
  "  --quick      3 hosts, budgets 1 and 2 only, a shorter build, one empty preview",
  "  --build-ms   how long a simulated host takes to build a new system (default 3000; quick 1500)",
  "  --log-dir    write each rollout's CLI output and fleet timeline, stamped, to DIR (where the time goes)",
].join("\n");

/** The defaults: the sizes the issue asks for and a build long enough for pipelining to show. */
const FULL: BenchArgs = { hosts: [3, 10], budgets: [1, 2, 3], buildMs: 3000, emptyPreviews: 2, help: false };
const QUICK: BenchArgs = { hosts: [3], budgets: [1, 2], buildMs: 1500, emptyPreviews: 1, help: false };

/** Parses argv (without node and the script); throws with the usage on anything unknown. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const quick = argv.includes("--quick");
  let args: BenchArgs = quick ? QUICK : FULL;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${BENCH_USAGE}`);
      return v;
    };
    switch (flag) {
      case "--quick":
        break;
      case "--help":
      case "-h":
        args = { ...args, help: true };
        break;
      case "--hosts":
        args = { ...args, hosts: value().split(",").map((s) => wholeNumber("--hosts", s, 1)) };
        break;
      case "--build-ms":
        args = { ...args, buildMs: wholeNumber("--build-ms", value(), 0) };
        break;
      case "--log-dir":
        args = { ...args, logDir: value() };
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(a)}\n${BENCH_USAGE}`);
    }
  }
  return args;
}

function wholeNumber(flag: string, s: string, min: number): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} takes whole numbers of at least ${min}, got ${JSON.stringify(s)}\n${BENCH_USAGE}`);
  return n;
}
