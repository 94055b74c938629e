/**
 * `npm run bench:scale`: `pulumi preview --diff` of a new stack of this project's program with
 * 50, 200 and 800 generated hosts, each beside baseline programs of trivial dynamic resources
 * (bench/scale/baseline.ts: one per host; a build and a host per host; one build for the fleet
 * and a host per host), in one run on this machine; prints the time ratios against the targets,
 * the memory per host, and the baselines' times by shape. Needs no root and contacts no host.
 * README.md "Fleets of hundreds".
 *
 *   npm run bench:scale                          # 50, 200 and 800 hosts, 3 runs each
 *   npm run bench:scale -- --hosts 50,200 --runs 1
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readTree } from "../../lib/inventory/fsTree";
import { loadInventory } from "../../lib/inventory/load";
import { planHosts } from "../../lib/inventory/plan";
import { runStamped } from "../stack";
import { writeBaselineProgram } from "./baseline";
import { newHostKeyLine, scaleInventoryYaml } from "./inventory";
import { type ProcessUse, samplePeaks, zeroPerRole } from "./peak";
import { median, type PreviewFigures, type QuietUpFigures, quietUpLines, type ScaleRow, scaleLines, sec, shapeLines } from "./report";

const PROJECT_DIR = path.resolve(__dirname, "../../..");
const PREVIEW_TIMEOUT_MS = 900_000;
const PASSPHRASE = "bench-scale";
const USAGE = "usage: npm run bench:scale -- [--hosts 50,200,800] [--runs 3] [--quiet-up 10,50,200]";

function progress(line: string): void {
  process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function parseArgs(argv: readonly string[]): { hosts: number[]; runs: number; quietUp: number[] } {
  let hosts = [50, 200, 800];
  let runs = 3;
  let quietUp = [10, 50, 200];
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === "--hosts" && value && /^\d+(,\d+)*$/.test(value)) hosts = value.split(",").map(Number);
    else if (argv[i] === "--quiet-up" && value !== undefined && /^(\d+(,\d+)*)?$/.test(value)) quietUp = value === "" ? [] : value.split(",").map(Number);
    else if (argv[i] === "--runs" && value && /^[1-9]\d*$/.test(value)) runs = Number(value);
    else throw new Error(`${argv[i]} ${value ?? ""}: not understood. ${USAGE}`);
    i++;
  }
  return { hosts, runs, quietUp };
}

/** The environment of a stack whose file backend is `stateDir` (made here). */
function stackEnv(stateDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  fs.mkdirSync(stateDir, { recursive: true });
  return { ...process.env, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, NO_COLOR: "1", ...extra };
}

/** What the baseline program reads: how many hosts (the chain's resources), the size of each one's input, and its shape (baseline.ts). */
function baselineSize(hosts: number, payloadBytes: number, shape: "chain" | "pairs" | "fleet-build" = "chain"): NodeJS.ProcessEnv {
  return { BASELINE_RESOURCES: String(hosts), BASELINE_PAYLOAD_BYTES: String(payloadBytes), BASELINE_SHAPE: shape };
}

/** Runs the project's pinned `pulumi` in `cwd`; rejects unless it exits 0. */
async function pulumi(cwd: string, env: NodeJS.ProcessEnv, args: readonly string[]): Promise<{ ms: number; output: string; use: ProcessUse }> {
  const script = 'source "$0/scripts/env.sh" && exec pulumi "$@"';
  let sampler: ReturnType<typeof samplePeaks> | undefined;
  const r = await runStamped("bash", ["-c", script, PROJECT_DIR, ...args, "--non-interactive"], {
    cwd,
    env,
    timeoutMs: PREVIEW_TIMEOUT_MS,
    what: `pulumi ${args.slice(0, 2).join(" ")}`,
    onSpawn: (pid) => (sampler = samplePeaks(pid)),
  });
  const use = sampler?.stop() ?? { peak: zeroPerRole(), cpuMs: zeroPerRole() };
  const output = r.lines.map((l) => l.text).join("\n");
  if (r.code !== 0) throw new Error(`pulumi ${args.slice(0, 2).join(" ")} in ${cwd} exited ${r.code}; its output ends:\n${output.slice(-4000)}`);
  return { ms: r.ended - r.started, output, use };
}

/** One program's stack to preview: where, with what environment, and how many creates its preview must plan (the stack included). */
interface PreviewTarget {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stack: string;
  readonly creates: number;
}

/** One preview of `t`; checks that it planned `t.creates` resources. */
async function previewOnce(t: PreviewTarget): Promise<{ ms: number; use: ProcessUse }> {
  const r = await pulumi(t.cwd, t.env, ["preview", "--diff", "--stack", t.stack, "--parallel", "64"]);
  const planned = /\+ (\d+) to create/.exec(r.output);
  if (planned === null || Number(planned[1]) !== t.creates) throw new Error(`the preview of ${t.stack} in ${t.cwd} planned ${planned?.[1] ?? "nothing"} creates, not ${t.creates}:\n${r.output.slice(-2000)}`);
  return { ms: r.ms, use: r.use };
}

/** The figures of one program's runs: wall times, the highest peaks, the CPU times of the median run. */
function figures(measured: readonly { ms: number; use: ProcessUse }[]): PreviewFigures {
  const ms = measured.map((m) => m.ms);
  const peak = measured.reduce((top, m) => (m.use.peak.program > top.program ? m.use.peak : top), measured[0].use.peak);
  // The CPU times of the run whose wall time is the median (the lower middle one of an even count).
  const middle = [...measured].sort((a, b) => a.ms - b.ms)[(measured.length - 1) >> 1];
  return { ms, peak, cpuMs: middle.use.cpuMs };
}

/**
 * Previews each program `runs` times, taking turns, the first of each round one further along
 * than the round before, so that a change in the machine's load while the bench runs falls on
 * all of them alike.
 */
async function takingTurns<K extends string>(targets: Readonly<Record<K, PreviewTarget>>, runs: number): Promise<Record<K, PreviewFigures>> {
  const keys = Object.keys(targets) as K[];
  const measured = new Map<K, { ms: number; use: ProcessUse }[]>(keys.map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < keys.length; j++) {
      const k = keys[(i + j) % keys.length];
      measured.get(k)?.push(await previewOnce(targets[k]));
    }
  }
  return Object.fromEntries(keys.map((k) => [k, figures(measured.get(k) ?? [])])) as Record<K, PreviewFigures>;
}

/** One host's rendered files in bytes (the second host: a worker). */
function renderedBytes(inventoryFile: string, sshKey: string): number {
  const io = { readFile: (p: string) => fs.readFileSync(p, "utf8"), readTree };
  const inv = loadInventory({ inventory: undefined, inventoryFile, projectDir: PROJECT_DIR }, io);
  const spec = planHosts(inv, { sshPrivateKey: sshKey, values: { k3sToken: "bench" }, kubeconfig: undefined }, io)[1];
  return Object.values(spec.files).reduce((n, text) => n + Buffer.byteLength(text), 0);
}

async function benchSize(hosts: number, runs: number, work: string, sshKey: string): Promise<ScaleRow> {
  const inventoryFile = path.join(work, `inventory-${hosts}.yaml`);
  fs.writeFileSync(inventoryFile, scaleInventoryYaml(Array.from({ length: hosts }, newHostKeyLine)));
  const payloadBytes = renderedBytes(inventoryFile, sshKey);
  const stack = `bench-scale-${hosts}`;
  const configFile = path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`);
  const fleetEnv = stackEnv(path.join(work, `fleet-state-${hosts}`));
  const baselineDir = path.join(work, "baseline");
  const baselineEnv = stackEnv(path.join(work, `baseline-state-${hosts}`), baselineSize(hosts, payloadBytes));
  const pairsStack = `${stack}-pairs`;
  const pairsEnv = stackEnv(path.join(work, `baseline-state-${hosts}`), baselineSize(hosts, payloadBytes, "pairs"));
  const oneBuildStack = `${stack}-fleet-build`;
  const oneBuildEnv = stackEnv(path.join(work, `baseline-state-${hosts}`), baselineSize(hosts, payloadBytes, "fleet-build"));
  try {
    await pulumi(PROJECT_DIR, fleetEnv, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
    const config = {
      "fleet:inventoryFile": { value: inventoryFile, secret: false },
      "fleet:sshPrivateKey": { value: sshKey, secret: true },
    };
    await pulumi(PROJECT_DIR, fleetEnv, ["config", "set-all", "--stack", stack, "--json", JSON.stringify(config)]);
    await pulumi(PROJECT_DIR, fleetEnv, ["config", "set", "--stack", stack, "--secret", "--path", "fleet:secrets.k3sToken", "bench"]);
    await pulumi(baselineDir, baselineEnv, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
    await pulumi(baselineDir, pairsEnv, ["stack", "init", pairsStack, "--secrets-provider", "passphrase"]);
    await pulumi(baselineDir, oneBuildEnv, ["stack", "init", oneBuildStack, "--secrets-provider", "passphrase"]);
    progress(`${hosts} hosts: ${runs} previews of each program, taking turns (${payloadBytes} bytes rendered per host)`);
    // Each host is a NixosHost, beside the one FleetBuild, as in the fleet-build baseline; the
    // stack itself is one more resource.
    const { fleet, baseline, pairs, oneBuild } = await takingTurns(
      {
        fleet: { cwd: PROJECT_DIR, env: fleetEnv, stack, creates: hosts + 2 },
        baseline: { cwd: baselineDir, env: baselineEnv, stack, creates: hosts + 1 },
        pairs: { cwd: baselineDir, env: pairsEnv, stack: pairsStack, creates: 2 * hosts + 1 },
        oneBuild: { cwd: baselineDir, env: oneBuildEnv, stack: oneBuildStack, creates: hosts + 2 },
      },
      runs,
    );
    const s = (f: PreviewFigures) => sec(median(f.ms));
    progress(`${hosts} hosts: nixos-fleet ${s(fleet)}, baseline ${s(baseline)}, baseline of pairs ${s(pairs)}, one build for the fleet ${s(oneBuild)}`);
    return { hosts, payloadBytes, fleet, baseline, pairs, oneBuild };
  } finally {
    fs.rmSync(configFile, { force: true });
  }
}

/**
 * The file backend's cost of an `up` that updates every resource and changes nothing elsewhere
 * (as a quiet change of every host does), with the baseline's resources: created first, then
 * updated with checkpoints as Pulumi writes them by default, then with PULUMI_SKIP_CHECKPOINTS.
 */
async function quietUp(resources: number, payloadBytes: number, work: string): Promise<QuietUpFigures> {
  const stack = `quiet-${resources}`;
  const env = stackEnv(path.join(work, `quiet-state-${resources}`), baselineSize(resources, payloadBytes));
  const dir = path.join(work, "baseline");
  const up = async (epoch: number, extra: NodeJS.ProcessEnv = {}) => {
    const r = await pulumi(dir, { ...env, ...extra, BASELINE_EPOCH: String(epoch) }, ["up", "--yes", "--skip-preview", "--stack", stack, "--parallel", "64"]);
    const changed = /^\s*[+~] (\d+) (created|updated)$/m.exec(r.output);
    // A create counts the stack too.
    if (changed === null || Number(changed[1]) !== resources + (epoch === 0 ? 1 : 0)) throw new Error(`up of ${stack} ${epoch === 0 ? "created" : "updated"} ${changed?.[1] ?? "nothing"}, not ${resources}:\n${r.output.slice(-2000)}`);
    return r.ms;
  };
  await pulumi(dir, env, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
  progress(`quiet up of ${resources} baseline resources`);
  const createMs = await up(0);
  const updateMs = await up(1);
  const skippedMs = await up(2, { PULUMI_SKIP_CHECKPOINTS: "true" });
  const checkpointBytes = Buffer.byteLength((await pulumi(dir, env, ["stack", "export", "--stack", stack])).output);
  return { resources, createMs, updateMs, skippedMs, checkpointBytes };
}

async function main(): Promise<number> {
  const { hosts, runs, quietUp: quietSizes } = parseArgs(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-bench-scale-"));
  try {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench-scale", "-f", path.join(work, "id_ed25519")]);
    const sshKey = fs.readFileSync(path.join(work, "id_ed25519"), "utf8");
    writeBaselineProgram(PROJECT_DIR, path.join(work, "baseline"));
    const rows: ScaleRow[] = [];
    for (const n of hosts) rows.push(await benchSize(n, runs, work, sshKey));
    const quiet: QuietUpFigures[] = [];
    const payloadBytes = rows[0]?.payloadBytes ?? 6000;
    for (const n of quietSizes) quiet.push(await quietUp(n, payloadBytes, work));
    const cpus = os.cpus();
    console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? "unknown"}, load ${os.loadavg()[0].toFixed(2)}`);
    for (const line of [...scaleLines(rows), ...shapeLines(rows), ...quietUpLines(quiet)]) console.log(line);
    console.log(JSON.stringify({ scale: rows, quietUp: quiet }));
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`bench:scale: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
