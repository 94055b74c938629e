/**
 * The benchmark on one simulated fleet of N hosts: a throwaway stack of this project rolled out
 * with the real `pulumi up` through scripts/fleet.sh, as a user runs it. After the first
 * rollout it measures a live change, a change that needs a reboot one host at a time, and the
 * same kind of change with wider disruption budgets (rollout.maxUnavailable).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimFleet } from "../sim/fleet";
import { fleetInventoryObject } from "../sim/inventory";
import type { FleetJson, SimTimings, TimelineEvent } from "../sim/types";
import { checkpointFigures, type CheckpointFigures } from "./checkpoint";
import { idealBudgetMs, rolloutFigures, type RolloutFigures } from "./measure";
import { hostBreakdown } from "./report";
import { BenchStack, doneTimes, type CommandRun } from "./stack";

/** How to run the benchmark on one fleet. */
export interface FleetBenchOptions {
  readonly projectDir: string;
  readonly hosts: number;
  /** The simulated hosts' timings; buildMs makes builds take as long as the bench wants. */
  readonly timings: Partial<SimTimings>;
  /** rollout.maxUnavailable values to measure (1 first: its per-host time is the ideal's unit). */
  readonly budgets: readonly number[];
  readonly progress: (line: string) => void;
  /** Where each rollout's stamped output and timeline go (bench/args.ts --log-dir). */
  readonly logDir?: string;
}

/** One budget's figures. */
export interface BudgetFigures {
  readonly maxUnavailable: number;
  readonly wallMs: number;
  /** ⌈N/k⌉ × the per-host time of the one-at-a-time reboot rollout. */
  readonly idealMs: number;
  readonly ratio: number;
}

/** Everything measured on one fleet. */
export interface FleetBenchResult {
  readonly hosts: number;
  readonly timings: Partial<SimTimings>;
  readonly live: RolloutFigures;
  readonly reboot: RolloutFigures;
  readonly budgets: readonly BudgetFigures[];
  /** The checkpoint after the first rollout. */
  readonly checkpoint: CheckpointFigures;
  /** `pulumi up` of a change of every host that needs no host (a timeout): wall time of the command. */
  readonly quietUpMs: number;
}

const TOKEN = "bench-join-token";
const ROLLOUT_TIMEOUT_MS = 30 * 60_000;

/** The stack's inventory: N hosts (the first the control plane), `k` at a time, `settings` as the Nix change. */
function inventory(hosts: number, k: number, settings: Record<string, unknown>, healthSeconds = 60) {
  return {
    rebuild: { action: "switch", rebootPolicy: "when-needed" },
    timeouts: { connectSeconds: 10, lockSeconds: 10, rebuildSeconds: 300, drainSeconds: 60, shutdownSeconds: 30, bootSeconds: 60, settleSeconds: 60, readySeconds: 60, healthSeconds },
    kubernetes: { enabled: true, watchedNamespaces: ["kube-system", "default"] },
    drain: { deleteEmptyDirData: true },
    rollout: { maxUnavailable: k },
    k3s: { enable: true, serverAddr: "https://srv1:6443", tokenSecret: "k3sToken" },
    nix: { settings: { boot: { loader: { "systemd-boot": { enable: true } } }, ...settings } },
    hosts: Array.from({ length: hosts }, (_v, i) => ({ name: `srv${i + 1}`, role: i === 0 ? "control-plane" : "worker" })),
  };
}

/** A live change (an environment variable) and a change that needs a reboot (a kernel parameter), each new every time. */
const liveChange = (n: number) => ({ environment: { variables: { FLEET_BENCH: String(n) } } });
const rebootChange = (n: number) => ({ boot: { loader: { "systemd-boot": { enable: true } }, kernelParams: [`fleet_bench=${n}`] } });

/** Runs the whole benchmark on a fresh fleet of `o.hosts` hosts and removes everything afterwards. */
export async function benchFleet(o: FleetBenchOptions): Promise<FleetBenchResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `nixos-fleet-bench-${o.hosts}-`));
  const names = Array.from({ length: o.hosts }, (_v, i) => `srv${i + 1}`);
  const stack = new BenchStack(o.projectDir, `bench${o.hosts}-${process.pid}`, work);
  let fleet: SimFleet | undefined;
  const cleanUp = async () => {
    stack.removeConfig();
    await fleet?.stop().catch((e: unknown) => o.progress(`N=${o.hosts}: stopping the fleet: ${e instanceof Error ? e.message : String(e)}`));
    fs.rmSync(work, { recursive: true, force: true });
  };
  // Interrupted (Ctrl-C) or crashed, the bench still takes its hosts' namespaces, processes and mounts down.
  const abort = (why: string, code: number) => {
    o.progress(`N=${o.hosts}: ${why}; stopping the simulated fleet before exiting`);
    void cleanUp().finally(() => process.exit(code));
  };
  const onSignal = (signal: NodeJS.Signals) => abort(`${signal} received`, signal === "SIGINT" ? 130 : 143);
  const onCrash = (error: unknown) => abort(`crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 1);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("uncaughtException", onCrash);
  try {
    o.progress(`N=${o.hosts}: starting ${o.hosts} simulated hosts and the Kubernetes control plane`);
    const started = Date.now();
    fleet = await SimFleet.start({ stateDir: path.join(work, "sim"), hosts: o.hosts, timings: o.timings });
    o.progress(`N=${o.hosts}: fleet up in ${secs(Date.now() - started)}`);
    const fj = fleet.fleetJson;
    const running = fleet;
    let changes = 0;
    /** Points the stack at `inv` and runs `up`; returns the figures of the rollout. */
    const rollOut = async (label: string, k: number, settings: Record<string, unknown>): Promise<RolloutFigures> => {
      await configure(stack, fj, inventory(o.hosts, k, settings));
      o.progress(`N=${o.hosts}: ${label}: pulumi up`);
      const run = await stack.ok(["up", "--yes", "--skip-preview"], ROLLOUT_TIMEOUT_MS);
      const events = running.timeline().filter((e) => e.t >= run.started && e.t <= run.ended);
      const figures = rolloutFigures({ hosts: names, command: { from: run.started, to: run.ended }, events, doneAt: doneTimes(run.lines, names) });
      const reported = Object.keys(doneTimes(run.lines, names)).length;
      if (o.logDir) writeRolloutLog(path.join(o.logDir, `N${o.hosts}-${label.replace(/[^a-z0-9]+/gi, "-")}.log`), run, events);
      o.progress(`N=${o.hosts}: ${label}: rolled out in ${secs(figures.wallMs)} (command ${secs(figures.commandMs)}; the CLI reported ${reported} of ${names.length} hosts done)`);
      for (const line of hostBreakdown(figures)) o.progress(`  ${line}`);
      return figures;
    };
    await stack.ok(["config", "set", "--secret", "--path", "fleet:secrets.k3sToken", TOKEN]);
    await rollOut("first rollout", 1, {});
    const checkpoint = checkpointFigures((await stack.ok(["stack", "export"])).lines.map((l) => l.text).join("\n"), o.hosts);
    // A quiet change of every host: a timeout. Nothing on any host changes, and no host is contacted.
    await configure(stack, fj, inventory(o.hosts, 1, {}, 61));
    o.progress(`N=${o.hosts}: a timeout changed on every host: pulumi up`);
    const quiet = await stack.ok(["up", "--yes", "--skip-preview"], ROLLOUT_TIMEOUT_MS);
    const touched = running.timeline().filter((e) => e.t >= quiet.started && e.t <= quiet.ended && names.includes(e.host) && e.kind === "ssh-session");
    if (touched.length > 0) throw new Error(`the quiet change opened SSH sessions to ${[...new Set(touched.map((e) => e.host))].join(", ")}`);
    const quietUpMs = quiet.ended - quiet.started;
    o.progress(`N=${o.hosts}: quiet up in ${secs(quietUpMs)}; checkpoint ${checkpoint.perHost} bytes per host`);
    const live = await rollOut("live change", 1, liveChange(++changes));
    const reboot = await rollOut("reboot, maxUnavailable 1", 1, rebootChange(++changes));
    const budgets: BudgetFigures[] = [];
    for (const k of o.budgets) {
      const figures = k === 1 ? reboot : await rollOut(`reboot, maxUnavailable ${k}`, k, rebootChange(++changes));
      const idealMs = idealBudgetMs(o.hosts, k, reboot.perHostMs);
      budgets.push({ maxUnavailable: k, wallMs: figures.wallMs, idealMs, ratio: figures.wallMs / idealMs });
    }
    return { hosts: o.hosts, timings: o.timings, live, reboot, budgets, checkpoint, quietUpMs };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("uncaughtException", onCrash);
    await cleanUp();
  }
}

/** The CLI's lines and the fleet's timeline events of one rollout, merged in time order, in seconds from the command's start. */
function writeRolloutLog(file: string, run: CommandRun, events: readonly TimelineEvent[]): void {
  const rows = [
    ...run.lines.map((l) => ({ t: l.t, text: `cli   ${l.text}` })),
    ...events.map((e) => ({ t: e.t, text: `fleet ${e.host} ${e.kind}${e.detail ? ` ${JSON.stringify(e.detail)}` : ""}` })),
  ].sort((a, b) => a.t - b.t);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, rows.map((r) => `${((r.t - run.started) / 1000).toFixed(3).padStart(8)} ${r.text}`).join("\n") + "\n");
}

/** The stack config a user would set for this fleet: the inventory filled in, the login key as a secret. */
async function configure(stack: BenchStack, fleet: FleetJson, inv: ReturnType<typeof inventory>): Promise<void> {
  await stack.setConfig({
    "fleet:inventory": { value: fleetInventoryObject(inv, fleet, fleet.stateDir) },
    "fleet:sshPrivateKey": { value: fs.readFileSync(fleet.sshKeyPath, "utf8"), secret: true },
  });
}

/** Milliseconds as seconds with one decimal. */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
