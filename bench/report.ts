/**
 * What the benchmark prints: lines a person reads, and one JSON line with every figure.
 * Pure: the figures in, the text out.
 */
import { checkpointLines } from "./checkpoint";
import type { FleetBenchResult } from "./fleet-bench";
import type { RolloutFigures } from "./measure";

/** Targets from the issue. */
export const TARGETS = { overheadPerNodeMs: 500, pipelining: 1.05 } as const;

/** The machine the figures were measured on. */
export interface MachineInfo {
  readonly cpus: number;
  readonly model: string;
  /** 1-minute load average at the start and at the end. */
  readonly loadBefore: number;
  readonly loadAfter: number;
}

/** The whole run. */
export interface BenchReport {
  readonly machine: MachineInfo;
  readonly emptyPreviewMs: readonly number[];
  readonly fleets: readonly FleetBenchResult[];
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const x = (r: number) => r.toFixed(2);
const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

function overheadLine(n: number, what: string, f: RolloutFigures): string {
  return (
    `N=${n} overhead, ${what}: ${s(f.overheadPerNodeMs)} per node ` +
    `(wall ${s(f.wallMs)} − inherent waits ${s(f.inherentMs)}, over ${n} hosts; target ≤ ${s(TARGETS.overheadPerNodeMs)}: ${verdict(f.overheadPerNodeMs <= TARGETS.overheadPerNodeMs)})`
  );
}

function pipeliningLine(n: number, what: string, f: RolloutFigures): string {
  return (
    `N=${n} pipelining, ${what}: ${x(f.pipelining)} = wall ${s(f.wallMs)} / (max build ${s(f.maxBuildMs)} + Σ activation ${s(f.sumActivationMs)}) ` +
    `(target ≤ ${TARGETS.pipelining}: ${verdict(f.pipelining <= TARGETS.pipelining)}); speed-up over building each host in its turn ${x(f.speedupOverSerial)}× (Σ build ${s(f.sumBuildMs)})`
  );
}

/** Where one rollout's time went, host by host, in seconds from the first host touched. */
export function hostBreakdown(f: RolloutFigures): string[] {
  const origin = Math.min(...f.perHost.flatMap((h) => (h.touched === undefined ? [] : [h.touched])));
  const at = (t: number) => `+${((t - origin) / 1000).toFixed(1)}`;
  return f.perHost.map((h) => {
    const parts = [
      h.touched === undefined ? "not touched" : `touched ${at(h.touched)}`,
      h.build ? `build ${at(h.build.from)}…${at(h.build.to)}` : "no build",
      h.cordoned === undefined ? "" : `cordon ${at(h.cordoned)}`,
      h.evictionsBlocked > 0 ? `${h.evictionsBlocked} eviction${h.evictionsBlocked === 1 ? "" : "s"} refused` : "",
      h.reboot ? `reboot ${at(h.reboot.from)}…Ready ${at(h.reboot.to)}` : "",
      h.turn ? `done ${at(h.turn.to)}` : "",
    ];
    return `${h.host}: ${parts.filter(Boolean).join(", ")}`;
  });
}

/** The human-readable lines. */
export function reportLines(r: BenchReport): string[] {
  const lines = [
    `machine: ${r.machine.cpus} × ${r.machine.model}, load average ${r.machine.loadBefore.toFixed(2)} at the start, ${r.machine.loadAfter.toFixed(2)} at the end`,
  ];
  const floor = r.emptyPreviewMs.length > 0 ? Math.min(...r.emptyPreviewMs) : undefined;
  for (const f of r.fleets) {
    lines.push(
      `N=${f.hosts} (build ${s(f.timings.buildMs ?? 0)}, down ${s(f.timings.downMs ?? 0)} per reboot)`,
      overheadLine(f.hosts, "live change", f.live),
      overheadLine(f.hosts, "reboot", f.reboot),
      pipeliningLine(f.hosts, "live change", f.live),
      pipeliningLine(f.hosts, "reboot", f.reboot),
    );
    for (const b of f.budgets) {
      lines.push(
        `N=${f.hosts} budget maxUnavailable ${b.maxUnavailable}: wall ${s(b.wallMs)}, ideal ⌈${f.hosts}/${b.maxUnavailable}⌉ × ${s(f.reboot.perHostMs)} per host = ${s(b.idealMs)}, ratio ${x(b.ratio)}`,
      );
    }
    const startup = (what: string, ms: number | undefined) => `${what} ${ms === undefined ? "(no host touched)" : s(ms)}`;
    lines.push(
      `N=${f.hosts} startup: scripts/fleet.sh up → first host touched: ${startup("live change", f.live.startupMs)}, ${startup("reboot", f.reboot.startupMs)}` +
        (floor === undefined ? "" : `; pulumi preview of an empty TypeScript program ${s(floor)}`),
      `N=${f.hosts} quiet change (a timeout of every host, no host contacted): pulumi up ${s(f.quietUpMs)}`,
      ...checkpointLines(f.checkpoint).map((l) => `N=${f.hosts} ${l.trimStart()}`),
    );
  }
  return lines;
}

/** The JSON summary line. */
export function summaryJson(r: BenchReport): string {
  const rollout = (f: RolloutFigures) => ({
    commandMs: f.commandMs,
    startupMs: f.startupMs,
    wallMs: f.wallMs,
    inherentMs: f.inherentMs,
    overheadPerNodeMs: Math.round(f.overheadPerNodeMs),
    maxBuildMs: f.maxBuildMs,
    sumBuildMs: f.sumBuildMs,
    sumActivationMs: f.sumActivationMs,
    pipelining: round(f.pipelining),
    speedupOverSerial: round(f.speedupOverSerial),
    perHostMs: Math.round(f.perHostMs),
  });
  return JSON.stringify({
    summary: true,
    machine: r.machine,
    targets: TARGETS,
    emptyPreviewMs: r.emptyPreviewMs,
    fleets: r.fleets.map((f) => ({
      hosts: f.hosts,
      timings: f.timings,
      live: rollout(f.live),
      reboot: rollout(f.reboot),
      budgets: f.budgets.map((b) => ({ ...b, ratio: round(b.ratio) })),
      quietUpMs: f.quietUpMs,
      checkpoint: f.checkpoint,
    })),
  });
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
