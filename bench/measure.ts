/**
 * What the benchmark derives from one rollout: the simulated fleet's timeline (when each host
 * was touched, built, rebooted and Ready again) plus the moments the Pulumi CLI said each host
 * was done. Pure functions, so the arithmetic is tested apart from the slow runs.
 */
import type { TimelineEvent } from "../sim/types";

/** A span of time in milliseconds since the epoch, `from` ≤ `to`. */
export interface Span {
  readonly from: number;
  readonly to: number;
}

/** One rollout as the bench observed it. */
export interface RolloutRecord {
  /** The hosts the rollout was expected to change. */
  readonly hosts: readonly string[];
  /** When the user's command started and when it exited. */
  readonly command: Span;
  /** The timeline events recorded while the command ran. */
  readonly events: readonly TimelineEvent[];
  /** When the CLI printed that a host's resource was created or updated, by host. */
  readonly doneAt: Readonly<Record<string, number>>;
}

/** What one host spent in a rollout. */
export interface HostFigures {
  readonly host: string;
  /** The host's first event in the rollout (the moment it was first touched). */
  readonly touched: number | undefined;
  /** nixos-rebuild's build: build-started → build-finished. */
  readonly build: Span | undefined;
  /** reboot-started → the Node Ready on the new boot (absent for a live change). */
  readonly reboot: Span | undefined;
  /**
   * The host's turn in a one-at-a-time rollout: from its first event, or from when the host
   * done before it was done if that is later (a host built early waits for its turn), to done.
   */
  readonly turn: Span | undefined;
  /** Its activation: from the end of its build, or from the start of its turn if later, to done. */
  readonly activation: Span | undefined;
  /** When it was cordoned, if it was. */
  readonly cordoned: number | undefined;
  /** Evictions of its pods the API refused (a PodDisruptionBudget said no). */
  readonly evictionsBlocked: number;
}

/** The length of a span, 0 for none. */
export function lengthOf(s: Span | undefined): number {
  return s ? s.to - s.from : 0;
}

/** The first `start` event of `host` and the first `end` event after it. */
function spanOf(events: readonly TimelineEvent[], host: string, start: string, end: string): Span | undefined {
  const s = events.find((e) => e.host === host && e.kind === start);
  const e = s ? events.find((x) => x.host === host && x.kind === end && x.t >= s.t) : undefined;
  return s && e ? { from: s.t, to: e.t } : undefined;
}

/** When each host was done: the CLI's word, else its last timeline event. */
function doneTimes(r: RolloutRecord): Map<string, number> {
  const done = new Map<string, number>();
  for (const host of r.hosts) {
    const last = [...r.events].reverse().find((e) => e.host === host)?.t;
    const t = r.doneAt[host] ?? last;
    if (t !== undefined) done.set(host, t);
  }
  return done;
}

/** Each host's build, reboot, turn and activation in one rollout. */
export function hostFigures(r: RolloutRecord): HostFigures[] {
  const done = doneTimes(r);
  return r.hosts.map((host) => {
    const build = spanOf(r.events, host, "build-started", "build-finished");
    const rebootStart = r.events.find((e) => e.host === host && e.kind === "reboot-started");
    const ready = rebootStart ? r.events.find((e) => e.host === host && e.kind === "ready" && e.t >= rebootStart.t) : undefined;
    const reboot = rebootStart && ready ? { from: rebootStart.t, to: ready.t } : undefined;
    const first = r.events.find((e) => e.host === host)?.t;
    const cordoned = r.events.find((e) => e.host === host && e.kind === "cordon")?.t;
    const evictionsBlocked = r.events.filter((e) => e.host === host && e.kind === "eviction" && e.detail?.result === "blocked").length;
    const end = done.get(host);
    if (first === undefined || end === undefined) return { host, touched: first, build, reboot, turn: undefined, activation: undefined, cordoned, evictionsBlocked };
    const before = [...done.values()].filter((t) => t < end);
    const turnFrom = Math.min(end, Math.max(first, ...before));
    const turn = { from: turnFrom, to: end };
    const activation = build ? { from: Math.min(end, Math.max(build.to, turnFrom)), to: end } : undefined;
    return { host, touched: first, build, reboot, turn, activation, cordoned, evictionsBlocked };
  });
}

/** The total length covered by `spans`, counting overlaps once. */
export function unionLength(spans: readonly Span[]): number {
  const sorted = [...spans].filter((s) => s.to > s.from).sort((a, b) => a.from - b.from);
  let total = 0;
  let cur: Span | undefined;
  for (const s of sorted) {
    if (cur && s.from <= cur.to) cur = { from: cur.from, to: Math.max(cur.to, s.to) };
    else {
      total += lengthOf(cur);
      cur = s;
    }
  }
  return total + lengthOf(cur);
}

/** The first host event after the command started: the moment the rollout touched a host. */
export function firstTouch(r: Pick<RolloutRecord, "events" | "hosts">): number | undefined {
  return r.events.find((e) => r.hosts.includes(e.host))?.t;
}

/** The rollout itself: first host touched → last host done (the CLI's start-up and wrap-up left out). */
export function rolloutSpan(r: RolloutRecord): Span | undefined {
  const from = firstTouch(r);
  const ends = r.hosts.map((h) => r.doneAt[h]).filter((t): t is number => t !== undefined);
  if (from === undefined) return undefined;
  return { from, to: ends.length === r.hosts.length ? Math.max(...ends) : r.command.to };
}

/** Figures of one rollout. */
export interface RolloutFigures {
  readonly hosts: number;
  /** The user's command, start to exit. */
  readonly commandMs: number;
  /** From the command to the first host touched. */
  readonly startupMs: number | undefined;
  /** First host touched → last host done. */
  readonly wallMs: number;
  /** The waits the hosts themselves impose (builds, reboots until Ready), overlaps counted once. */
  readonly inherentMs: number;
  /** (wall − inherent) / hosts. */
  readonly overheadPerNodeMs: number;
  readonly maxBuildMs: number;
  readonly sumBuildMs: number;
  readonly sumActivationMs: number;
  /** wall / (max(build) + Σ activation): 1 is perfect pipelining. */
  readonly pipelining: number;
  /**
   * (wall + the build time that lay outside each host's turn) / wall: how much faster than if
   * every host were built in its turn, just before its activation. 1 when builds are serial.
   */
  readonly speedupOverSerial: number;
  /** Mean length of a host's turn: one host's time in a one-at-a-time rollout. */
  readonly perHostMs: number;
  readonly perHost: readonly HostFigures[];
}

/** Every figure of one rollout; throws naming what the timeline lacks. */
export function rolloutFigures(r: RolloutRecord): RolloutFigures {
  const span = rolloutSpan(r);
  if (!span) throw new Error(`the rollout touched none of ${r.hosts.join(", ")} (no timeline event while the command ran)`);
  const perHost = hostFigures(r);
  const notBuilt = perHost.filter((h) => !h.build).map((h) => h.host);
  if (notBuilt.length > 0) throw new Error(`no build-started/build-finished on the timeline for ${notBuilt.join(", ")}: the change did not reach them`);
  const wallMs = lengthOf(span);
  const inherent = perHost.flatMap((h) => [h.build, h.reboot].filter((s): s is Span => s !== undefined));
  const inherentMs = unionLength(inherent);
  const builds = perHost.map((h) => lengthOf(h.build));
  const activations = perHost.map((h) => lengthOf(h.activation));
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const ideal = Math.max(...builds) + sum(activations);
  const start = firstTouch(r);
  return {
    hosts: r.hosts.length,
    commandMs: lengthOf(r.command),
    startupMs: start === undefined ? undefined : start - r.command.from,
    wallMs,
    inherentMs,
    overheadPerNodeMs: (wallMs - inherentMs) / r.hosts.length,
    maxBuildMs: Math.max(...builds),
    sumBuildMs: sum(builds),
    sumActivationMs: sum(activations),
    pipelining: wallMs / ideal,
    speedupOverSerial: (wallMs + sum(perHost.map(buildOutsideTurn))) / wallMs,
    perHostMs: sum(perHost.map((h) => lengthOf(h.turn))) / perHost.length,
    perHost,
  };
}

/** How much of a host's build lay outside its turn: time a serial rollout would have spent on it in addition. */
export function buildOutsideTurn(h: HostFigures): number {
  if (!h.build) return 0;
  if (!h.turn) return lengthOf(h.build);
  const inside = Math.max(0, Math.min(h.build.to, h.turn.to) - Math.max(h.build.from, h.turn.from));
  return lengthOf(h.build) - inside;
}

/** The ideal wall of a rollout `k` hosts at a time: ⌈N/k⌉ waves of one host's time each. */
export function idealBudgetMs(hosts: number, maxUnavailable: number, perHostMs: number): number {
  return Math.ceil(hosts / maxUnavailable) * perHostMs;
}
