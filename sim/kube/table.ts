/**
 * meta.k8s.io/v1 Table output, which `kubectl get` asks for (Accept: application/json;as=Table).
 * Columns follow the real server's printers for the kinds we serve.
 */
import type { ClusterState, NodeRecord, ObjectMeta, PdbRecord, PodRecord, WorkloadRecord } from "./model";
import { KUBE_VERSION, NODE_INFO } from "./constants";
import { isActive } from "./model";

type Obj = Record<string, unknown>;
type Cell = string | number;

interface Column {
  readonly name: string;
  readonly type: "string" | "integer";
  readonly priority: number;
  readonly format?: "name";
}

const col = (name: string, type: Column["type"] = "string", priority = 0): Column =>
  name === "Name" ? { name, type, format: "name", priority } : { name, type, priority };

/** Kubernetes' HumanDuration: "45s", "5m10s", "3h", "2d5h"... */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

function age(meta: ObjectMeta, now: number): string {
  return humanDuration(now - Date.parse(meta.creationTimestamp));
}

const selectorText = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",") || "<none>";

/** Resources with a Table printer. */
export type TableKind = "nodes" | "pods" | "deployments" | "daemonsets" | "statefulsets" | "replicasets" | "poddisruptionbudgets" | "namespaces" | "leases";

/** Column definitions as the real printers declare them (priority 1 shows with -o wide). */
export const COLUMNS: Readonly<Record<TableKind, readonly Column[]>> = {
  nodes: [col("Name"), col("Status"), col("Roles"), col("Age"), col("Version"), col("Internal-IP", "string", 1),
    col("External-IP", "string", 1), col("OS-Image", "string", 1), col("Kernel-Version", "string", 1), col("Container-Runtime", "string", 1)],
  pods: [col("Name"), col("Ready"), col("Status"), col("Restarts"), col("Age"), col("IP", "string", 1), col("Node", "string", 1),
    col("Nominated Node", "string", 1), col("Readiness Gates", "string", 1)],
  deployments: [col("Name"), col("Ready"), col("Up-to-date", "integer"), col("Available", "integer"), col("Age"),
    col("Containers", "string", 1), col("Images", "string", 1), col("Selector", "string", 1)],
  daemonsets: [col("Name"), col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"), col("Up-to-date", "integer"),
    col("Available", "integer"), col("Node Selector"), col("Age"), col("Containers", "string", 1), col("Images", "string", 1), col("Selector", "string", 1)],
  statefulsets: [col("Name"), col("Ready"), col("Age"), col("Containers", "string", 1), col("Images", "string", 1)],
  replicasets: [col("Name"), col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"), col("Age"),
    col("Containers", "string", 1), col("Images", "string", 1), col("Selector", "string", 1)],
  poddisruptionbudgets: [col("Name"), col("Min Available"), col("Max Unavailable"), col("Allowed Disruptions", "integer"), col("Age")],
  namespaces: [col("Name"), col("Status"), col("Age")],
  leases: [col("Name"), col("Holder"), col("Age")],
};

/** Row cells in COLUMNS.nodes order; the cell functions below follow their own columns. */
export function nodeCells(n: NodeRecord, now: number): Cell[] {
  const status = (n.ready.status === "True" ? "Ready" : "NotReady") + (n.unschedulable ? ",SchedulingDisabled" : "");
  const roles = Object.keys(n.meta.labels)
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length))
    .sort();
  return [n.meta.name, status, roles.join(",") || "<none>", age(n.meta, now), KUBE_VERSION.gitVersion, n.address, "<none>",
    NODE_INFO.osImage, NODE_INFO.kernelVersion, NODE_INFO.containerRuntimeVersion];
}

export function podCells(p: PodRecord, now: number): Cell[] {
  const total = p.template.containers.length;
  const restarts = p.restartCount === 0 ? "0" : `${p.restartCount} (${humanDuration(now - Date.parse(p.containersStarted))} ago)`;
  return [p.meta.name, `${p.ready ? total : 0}/${total}`, p.deletion === undefined ? "Running" : "Terminating", restarts,
    age(p.meta, now), p.podIP, p.nodeName, "<none>", "<none>"];
}

function num(status: Obj | undefined, key: string): number {
  const v = status?.[key];
  return typeof v === "number" ? v : 0;
}

export function workloadCells(w: WorkloadRecord, now: number): Cell[] {
  const containers = w.template.containers.map((c) => c.name).join(",");
  const images = w.template.containers.map((c) => c.image).join(",");
  const s = w.status;
  switch (w.kind) {
    case "Deployment":
      return [w.meta.name, `${num(s, "readyReplicas")}/${w.replicas}`, num(s, "updatedReplicas"), num(s, "availableReplicas"),
        age(w.meta, now), containers, images, selectorText(w.selector)];
    case "DaemonSet":
      return [w.meta.name, num(s, "desiredNumberScheduled"), num(s, "currentNumberScheduled"), num(s, "numberReady"),
        num(s, "updatedNumberScheduled"), num(s, "numberAvailable"), selectorText(w.template.nodeSelector ?? {}), age(w.meta, now),
        containers, images, selectorText(w.selector)];
    case "StatefulSet":
      return [w.meta.name, `${num(s, "readyReplicas")}/${w.replicas}`, age(w.meta, now), containers, images];
  }
}

export function replicaSetCells(state: ClusterState, key: string, w: WorkloadRecord, rs: ObjectMeta, now: number): Cell[] {
  const pods = state.podsOf(key).filter(isActive);
  return [rs.name, w.replicas, pods.length, pods.filter((p) => p.ready).length, age(rs, now),
    w.template.containers.map((c) => c.name).join(","), w.template.containers.map((c) => c.image).join(","),
    selectorText({ ...w.selector, "pod-template-hash": w.hash })];
}

export function pdbCells(pdb: PdbRecord, now: number): Cell[] {
  return [pdb.meta.name, pdb.minAvailable === undefined ? "N/A" : String(pdb.minAvailable),
    pdb.maxUnavailable === undefined ? "N/A" : String(pdb.maxUnavailable), num(pdb.status, "disruptionsAllowed"), age(pdb.meta, now)];
}

export function leaseCells(meta: ObjectMeta, holder: string | undefined, now: number): Cell[] {
  return [meta.name, holder ?? "", age(meta, now)];
}

export function namespaceCells(meta: ObjectMeta, now: number): Cell[] {
  return [meta.name, "Active", age(meta, now)];
}

/** What a row carries besides its cells: `includeObject` None, Metadata (default) or Object. */
export type IncludeObject = "None" | "Metadata" | "Object";

export interface TableRowSource {
  readonly cells: Cell[];
  /** The full rendered object. */
  readonly object: Obj;
}

/** A meta.k8s.io/v1 Table of `kind` with one row per source. */
export function renderTable(kind: TableKind, rows: readonly TableRowSource[], resourceVersion: string, include: IncludeObject): Obj {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: COLUMNS[kind].map((c) => ({ ...c, description: "" })),
    rows: rows.map((r) => ({
      cells: r.cells,
      ...(include === "None"
        ? {}
        : include === "Object"
          ? { object: r.object }
          : { object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: r.object.metadata } }),
    })),
  };
}
