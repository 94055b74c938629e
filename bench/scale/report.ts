/**
 * What the scale benchmark prints: per fleet size, the preview of this project's program beside
 * the baseline's, the ratio of their times against the targets, and the memory per host. Pure.
 */
import type { CpuTime, PeakMemory } from "./peak";

/** Preview of a new stack within this factor of the baseline's time, by fleet size (hosts). */
export const PREVIEW_TARGETS: readonly { readonly hosts: number; readonly ratio: number }[] = [
  { hosts: 200, ratio: 1.3 },
  { hosts: 800, ratio: 1.5 },
];

/** One `pulumi preview --diff` as measured: wall time of each run, peak memory, CPU time per role (the median run's). */
export interface PreviewFigures {
  readonly ms: readonly number[];
  readonly peak: PeakMemory;
  readonly cpuMs: CpuTime;
}

/** One fleet size: this project's program and the baseline, side by side. */
export interface ScaleRow {
  readonly hosts: number;
  /** Bytes of one host's rendered files (the baseline's input per resource). */
  readonly payloadBytes: number;
  readonly fleet: PreviewFigures;
  /** One trivial resource per host, chained: what the targets are set against. */
  readonly baseline: PreviewFigures;
  /** A trivial build and host per host, wired as this project's (baseline.ts "pairs"). */
  readonly pairs: PreviewFigures;
  /** One trivial build for the fleet and a host per host (baseline.ts "fleet-build"). */
  readonly oneBuild: PreviewFigures;
}

const MB = 1024 * 1024;
/** Milliseconds as seconds, to a tenth. */
export const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => `${Math.round(bytes / MB)} MB`;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** This program's preview time over the baseline's (`of`: the chained one, which the targets are set against, or the pairs). */
export function ratio(row: ScaleRow, of: "baseline" | "pairs" = "baseline"): number {
  return median(row.fleet.ms) / median(row[of].ms);
}

/** The baselines' own times by shape, each over the chained baseline's: Pulumi's cost of a shape, with no code of this project. */
export function shapeLines(rows: readonly ScaleRow[]): string[] {
  const over = (r: ScaleRow, f: PreviewFigures) => `${sec(median(f.ms))} (${(median(f.ms) / median(r.baseline.ms)).toFixed(2)})`;
  return [
    "| Pulumi's own preview, trivial resources | a resource per host, chained | a build and a host per host | one build for the fleet, a host per host |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.hosts} hosts | ${sec(median(r.baseline.ms))} | ${over(r, r.pairs)} | ${over(r, r.oneBuild)} |`),
  ];
}

/** The target for a fleet size, if there is one. */
export function targetFor(hosts: number): number | undefined {
  return PREVIEW_TARGETS.find((t) => t.hosts === hosts)?.ratio;
}

/**
 * Memory per host of a program's process: the slope of its peak between the smallest and the
 * largest fleet measured (what a host adds, without the fixed cost of Node.js and the SDK).
 */
export function mbPerHost(rows: readonly ScaleRow[], of: "fleet" | "baseline" | "pairs" | "oneBuild"): number | undefined {
  if (rows.length < 2) return undefined;
  const sorted = [...rows].sort((a, b) => a.hosts - b.hosts);
  const [a, b] = [sorted[0], sorted[sorted.length - 1]];
  if (a.hosts === b.hosts) return undefined;
  return (b[of].peak.program - a[of].peak.program) / MB / (b.hosts - a.hosts);
}

/** The table and the verdicts, as lines. */
export function scaleLines(rows: readonly ScaleRow[]): string[] {
  const lines = [
    "| `pulumi preview --diff`, new stack | nixos-fleet | baseline | ratio | target | baseline of pairs | ratio to it |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const target = targetFor(r.hosts);
    const verdict = target === undefined ? "" : `≤ ${target} ${ratio(r) <= target ? "met" : "NOT met"}`;
    lines.push(
      `| ${r.hosts} hosts | ${sec(median(r.fleet.ms))}, ${mb(r.fleet.peak.program)} | ${sec(median(r.baseline.ms))}, ${mb(r.baseline.peak.program)} | ${ratio(r).toFixed(2)} | ${verdict} ` +
        `| ${sec(median(r.pairs.ms))}, ${mb(r.pairs.peak.program)} | ${ratio(r, "pairs").toFixed(2)} |`,
    );
  }
  lines.push(
    "(time: median of the runs; memory: peak resident size of the Node.js program's process; baseline: a trivial resource per host, chained; " +
      "baseline of pairs: a trivial build and host per host, wired as nixos-fleet's)",
  );
  for (const r of rows) {
    lines.push(
      `${r.hosts} hosts: dynamic provider ${mb(r.fleet.peak.provider)} (baseline ${mb(r.baseline.peak.provider)}, one build for the fleet ${mb(r.oneBuild.peak.provider)}), ` +
        `CLI ${mb(r.fleet.peak.cli)} (baseline ${mb(r.baseline.peak.cli)}, one build for the fleet ${mb(r.oneBuild.peak.cli)}); ` +
        `runs ${r.fleet.ms.map(sec).join(", ")} vs ${r.baseline.ms.map(sec).join(", ")} vs pairs ${r.pairs.ms.map(sec).join(", ")}; ${r.payloadBytes} bytes rendered per host`,
    );
  }
  for (const r of rows) {
    const cpu = (c: CpuTime) => `program ${sec(c.program)}, dynamic provider ${sec(c.provider)}, CLI ${sec(c.cli)}, other ${sec(c.other)}`;
    lines.push(`${r.hosts} hosts, CPU time: ${cpu(r.fleet.cpuMs)} (baseline: ${cpu(r.baseline.cpuMs)}; pairs: ${cpu(r.pairs.cpuMs)})`);
  }
  const fleet = mbPerHost(rows, "fleet");
  const baseline = mbPerHost(rows, "baseline");
  const pairs = mbPerHost(rows, "pairs");
  const oneBuild = mbPerHost(rows, "oneBuild");
  if (fleet !== undefined && baseline !== undefined && pairs !== undefined && oneBuild !== undefined) {
    lines.push(
      `memory per host in the program: ${fleet.toFixed(2)} MB (baseline ${baseline.toFixed(2)} MB per resource; pairs ${pairs.toFixed(2)} MB per pair; ` +
        `one build for the fleet ${oneBuild.toFixed(2)} MB per host, the shape of nixos-fleet's resources)`,
    );
  }
  return lines;
}

/** `pulumi up` of a change of every resource of the baseline, on the file backend. */
export interface QuietUpFigures {
  readonly resources: number;
  readonly createMs: number;
  /** With a checkpoint written after every step (Pulumi's default). */
  readonly updateMs: number;
  /** With PULUMI_SKIP_CHECKPOINTS=true: the state is written once, at the end. */
  readonly skippedMs: number;
  /** The size of the stack's export afterwards. */
  readonly checkpointBytes: number;
}

/** The quiet-up figures as lines. */
export function quietUpLines(rows: readonly QuietUpFigures[]): string[] {
  if (rows.length === 0) return [];
  return [
    "| `pulumi up` updating every baseline resource, file backend | checkpoints (default) | PULUMI_SKIP_CHECKPOINTS | checkpoint size |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.resources} resources | ${sec(r.updateMs)} | ${sec(r.skippedMs)} | ${Math.round(r.checkpointBytes / 1024)} KB (${Math.round(r.checkpointBytes / r.resources)} bytes each) |`),
  ];
}
