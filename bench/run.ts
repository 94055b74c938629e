/**
 * `npm run bench`: how fast a rollout is on the simulated fleet, for each fleet size asked for
 * (3 and 10 hosts by default) — the overhead per node beyond the hosts' own waits, how well
 * builds pipeline with activations, what wider disruption budgets save, and how long the user's
 * command takes to reach the first host. Every figure comes from the fleet's timeline and the
 * moments the Pulumi CLI reported each host done; see README.md "Benchmarks". Needs root.
 *
 *   npm run bench                  # 3 and 10 hosts (a few minutes)
 *   npm run bench -- --hosts 3     # one size
 *   npm run bench -- --quick       # 3 hosts, fewer rollouts
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SimTimings } from "../sim/types";
import { BENCH_USAGE, parseBenchArgs } from "./args";
import { emptyPreviewMs } from "./empty-program";
import { benchFleet, secs, type FleetBenchResult } from "./fleet-bench";
import { reportLines, summaryJson, type MachineInfo } from "./report";

const PROJECT_DIR = path.resolve(__dirname, "../..");

/** Short simulated delays besides the build, so the tool's own time is not drowned in waiting. */
const TIMINGS: Omit<SimTimings, "buildMs"> = { downMs: 1000, slowBootMs: 3000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };

function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<number> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) {
    console.log(BENCH_USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) throw new Error("the benchmark runs a simulated fleet, which needs root (network namespaces, bind mounts, sshd)");
  const cpus = os.cpus();
  const loadBefore = os.loadavg()[0];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-bench-"));
  const started = Date.now();
  try {
    progress(`pulumi preview of an empty TypeScript program, ${args.emptyPreviews}×`);
    const empty = await emptyPreviewMs(PROJECT_DIR, work, args.emptyPreviews);
    progress(`empty preview: ${empty.map(secs).join(", ")}`);
    const fleets: FleetBenchResult[] = [];
    for (const hosts of args.hosts) {
      fleets.push(await benchFleet({ projectDir: PROJECT_DIR, hosts, timings: { ...TIMINGS, buildMs: args.buildMs }, budgets: args.budgets.filter((k) => k <= hosts), progress, logDir: args.logDir }));
    }
    const machine: MachineInfo = { cpus: cpus.length, model: cpus[0]?.model ?? "unknown", loadBefore, loadAfter: os.loadavg()[0] };
    const report = { machine, emptyPreviewMs: empty, fleets };
    for (const line of reportLines(report)) console.log(line);
    console.log(summaryJson(report));
    progress(`done in ${secs(Date.now() - started)}`);
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
