/**
 * The fleet's timeline: an in-memory list and timeline.jsonl (one JSON event per line). The
 * fleet process is its only writer; hosts send their events over the control socket.
 */
import * as fs from "node:fs";
import type { TimelineEvent, TimelineKind } from "./types";

/** Every timeline kind, checked against the TimelineKind union at compile time. */
const KIND_SET = {
  "ssh-session": true,
  "build-started": true,
  "build-finished": true,
  activated: true,
  cordon: true,
  uncordon: true,
  eviction: true,
  "reboot-started": true,
  down: true,
  up: true,
  ready: true,
  "not-ready": true,
  "node-deleted": true,
  fault: true,
} satisfies Record<TimelineKind, true>;

/** The timeline kinds as a list. */
export const TIMELINE_KINDS = Object.keys(KIND_SET) as TimelineKind[];

/** Type guard for kinds arriving over the control socket. */
export function isTimelineKind(s: unknown): s is TimelineKind {
  return typeof s === "string" && Object.prototype.hasOwnProperty.call(KIND_SET, s);
}

/** Records events with the fleet's clock; listeners see each event as it is recorded. */
export class Timeline {
  private readonly events: TimelineEvent[] = [];
  private readonly listeners = new Set<(e: TimelineEvent) => void>();

  constructor(private readonly file: string) {
    fs.writeFileSync(file, "");
  }

  /**
   * Records an event that happened at `at` (milliseconds; now by default). Events read from a
   * log after the fact (kube-apiserver's audit log) carry the time they happened, so they take
   * their place among the events recorded meanwhile.
   */
  record(host: string, kind: TimelineKind, detail?: Readonly<Record<string, unknown>>, at: number = Date.now()): TimelineEvent {
    const event: TimelineEvent = detail === undefined ? { t: at, host, kind } : { t: at, host, kind, detail };
    let i = this.events.length;
    while (i > 0 && this.events[i - 1].t > at) i--;
    this.events.splice(i, 0, event);
    fs.appendFileSync(this.file, JSON.stringify(event) + "\n");
    for (const l of this.listeners) l(event);
    return event;
  }

  /** A copy of every event so far, oldest first. */
  all(): TimelineEvent[] {
    return [...this.events];
  }

  /** Calls `listener` for each later event; returns the function that unsubscribes. */
  subscribe(listener: (e: TimelineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Reads timeline.jsonl in time order (a late-read event was appended after later ones), skipping a torn last line. */
export function readTimelineFile(file: string): TimelineEvent[] {
  if (!fs.existsSync(file)) return [];
  const out: TimelineEvent[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as TimelineEvent);
    } catch {
      // a line cut short by a crash
    }
  }
  // A stable sort: events of the same millisecond stay in the order they were recorded.
  return out.map((e, i) => ({ e, i })).sort((a, b) => a.e.t - b.e.t || a.i - b.i).map((x) => x.e);
}
