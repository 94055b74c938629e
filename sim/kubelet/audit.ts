/**
 * The fleet's timeline events of what clients did to the cluster, read from kube-apiserver's
 * own audit log (policy: sim/controlplane AUDIT_POLICY): evictions with their answer, cordons
 * and uncordons (a Node's spec.unschedulable changing), Node deletions.
 */
import * as fs from "node:fs";
import type { TimelineKind } from "../types";

/** One audit event, the fields read here. */
export interface AuditEvent {
  readonly verb?: string;
  readonly stage?: string;
  /** When the stage was reached (RFC 3339 with microseconds). */
  readonly stageTimestamp?: string;
  readonly objectRef?: { readonly resource?: string; readonly subresource?: string; readonly namespace?: string; readonly name?: string };
  readonly responseStatus?: { readonly code?: number };
  readonly responseObject?: { readonly kind?: string; readonly spec?: { readonly unschedulable?: boolean } };
}

/** A timeline event taken from the audit log; `pod` when the host is the pod's node; `at` when it happened. */
export interface AuditFinding {
  readonly at?: number;
  readonly host?: string;
  readonly pod?: { readonly namespace: string; readonly name: string };
  readonly kind: TimelineKind;
  readonly detail?: Record<string, unknown>;
}

/**
 * What one audit event means for the timeline. `cordoned` holds each Node's last known
 * spec.unschedulable and is updated: a cordon is a change of it, whoever made it and however.
 */
export function findingOf(e: AuditEvent, cordoned: Map<string, boolean>): AuditFinding | undefined {
  const f = meaningOf(e, cordoned);
  const at = e.stageTimestamp === undefined ? NaN : Date.parse(e.stageTimestamp);
  return f === undefined || Number.isNaN(at) ? f : { ...f, at };
}

function meaningOf(e: AuditEvent, cordoned: Map<string, boolean>): AuditFinding | undefined {
  const ref = e.objectRef;
  const code = e.responseStatus?.code ?? 0;
  if (e.stage !== "ResponseComplete" || ref?.name === undefined) return undefined;
  if (ref.resource === "pods" && ref.subresource === "eviction" && e.verb === "create") {
    const namespace = ref.namespace ?? "default";
    if (code >= 200 && code < 300) return { pod: { namespace, name: ref.name }, kind: "eviction", detail: { namespace, pod: ref.name, result: "evicted" } };
    if (code === 429) return { pod: { namespace, name: ref.name }, kind: "eviction", detail: { namespace, pod: ref.name, result: "blocked" } };
    return undefined;
  }
  if (ref.resource !== "nodes" || ref.subresource !== undefined || code < 200 || code >= 300) return undefined;
  if (e.verb === "delete") {
    cordoned.delete(ref.name);
    return { host: ref.name, kind: "node-deleted" };
  }
  if (e.responseObject?.kind !== "Node") return undefined;
  const now = e.responseObject.spec?.unschedulable === true;
  const before = cordoned.get(ref.name) ?? false;
  cordoned.set(ref.name, now);
  if (now === before) return undefined;
  return { host: ref.name, kind: now ? "cordon" : "uncordon" };
}

/** Follows an audit log file as kube-apiserver appends to it, calling `onEvent` for each line. */
export class AuditTail {
  private offset = 0;
  private rest = "";
  private readonly timer: NodeJS.Timeout;
  private watcher: fs.FSWatcher | undefined;

  constructor(
    private readonly file: string,
    private readonly onEvent: (e: AuditEvent) => void,
    pollMs: number,
  ) {
    this.timer = setInterval(() => this.read(), pollMs);
    this.watch();
  }

  /** Reads whatever was appended since the last read. */
  read(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, "r");
    } catch {
      return; // not written yet
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const lines = (this.rest + buf.subarray(0, n).toString("utf8")).split("\n");
      this.rest = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        try {
          this.onEvent(JSON.parse(line) as AuditEvent);
        } catch {
          // a line that is not JSON is not an event
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    if (this.watcher === undefined) this.watch();
  }

  /** Stops following; reads what is there one last time. */
  stop(): void {
    clearInterval(this.timer);
    this.watcher?.close();
    this.read();
  }

  private watch(): void {
    try {
      this.watcher = fs.watch(this.file, () => this.read());
    } catch {
      this.watcher = undefined; // the file does not exist yet; the poll finds it
    }
  }
}
