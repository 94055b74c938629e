/**
 * Read access to every resource kind we serve, in one shape: list (all namespaces or one, with
 * label and field selectors), get by name, and JSON or Table rendering.
 */
import type { WorkloadKind } from "../../lib/cluster/cluster";
import type { GroupName } from "./discovery";
import { type ClusterState, type Labels, type ObjectMeta, podKey, workloadKey } from "./model";
import { NODE_FIELDS, POD_FIELDS, nodeFields, podFields, renderNode, renderPod } from "./render";
import { META_FIELDS, metaFields, renderNamespace, renderPdb, renderReplicaSet, renderWorkload } from "./renderApps";
import { renderLease } from "./leases";
import { type IncludeObject, type TableKind, leaseCells, namespaceCells, nodeCells, pdbCells, podCells, renderTable, replicaSetCells, workloadCells } from "./table";

type Obj = Record<string, unknown>;
type Cell = string | number;

/** One object of a collection, ready to filter and render. */
export interface Item {
  readonly meta: ObjectMeta;
  readonly labels: Labels;
  readonly fields: Record<string, string>;
  render(): Obj;
  cells(now: number): Cell[];
}

/** One resource kind's read side. */
export interface Collection {
  readonly group: GroupName;
  readonly resource: TableKind;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly selectableFields: ReadonlySet<string>;
  /** Every object, or those of one namespace. */
  items(state: ClusterState, namespace?: string): Item[];
}

function inNamespace(meta: ObjectMeta, namespace: string | undefined): boolean {
  return namespace === undefined || meta.namespace === namespace;
}

function workloads(kind: WorkloadKind, resource: TableKind): Collection {
  return {
    group: "apps",
    resource,
    kind,
    namespaced: true,
    selectableFields: META_FIELDS,
    items: (state, namespace) =>
      [...state.workloads.values()]
        .filter((w) => w.kind === kind && inNamespace(w.meta, namespace))
        .map((w) => ({
          meta: w.meta,
          labels: w.meta.labels,
          fields: metaFields(w.meta),
          render: () => renderWorkload(w),
          cells: (now) => workloadCells(w, now),
        })),
  };
}

const COLLECTIONS: readonly Collection[] = [
  {
    group: "",
    resource: "nodes",
    kind: "Node",
    namespaced: false,
    selectableFields: NODE_FIELDS,
    items: (state) =>
      [...state.nodes.values()].map((n) => ({
        meta: n.meta,
        labels: n.meta.labels,
        fields: nodeFields(n),
        render: () => renderNode(n),
        cells: (now) => nodeCells(n, now),
      })),
  },
  {
    group: "",
    resource: "pods",
    kind: "Pod",
    namespaced: true,
    selectableFields: POD_FIELDS,
    items: (state, namespace) =>
      [...state.pods.values()]
        .filter((p) => inNamespace(p.meta, namespace))
        .map((p) => ({
          meta: p.meta,
          labels: p.meta.labels,
          fields: podFields(p),
          render: () => renderPod(p, state.nodes.get(p.nodeName)),
          cells: (now) => podCells(p, now),
        })),
  },
  {
    group: "",
    resource: "namespaces",
    kind: "Namespace",
    namespaced: false,
    selectableFields: new Set(["metadata.name", "status.phase"]),
    items: (state) =>
      state.namespaces.map((meta) => ({
        meta,
        labels: meta.labels,
        fields: { "metadata.name": meta.name, "status.phase": "Active" },
        render: () => renderNamespace(meta),
        cells: (now) => namespaceCells(meta, now),
      })),
  },
  workloads("Deployment", "deployments"),
  workloads("DaemonSet", "daemonsets"),
  workloads("StatefulSet", "statefulsets"),
  {
    group: "apps",
    resource: "replicasets",
    kind: "ReplicaSet",
    namespaced: true,
    selectableFields: META_FIELDS,
    items: (state, namespace) =>
      [...state.workloads.values()].flatMap((w) => {
        const rs = w.replicaSet;
        if (rs === undefined || !inNamespace(rs, namespace)) return [];
        const key = workloadKey(w.kind, w.meta.namespace ?? "", w.meta.name);
        return [{
          meta: rs,
          labels: rs.labels,
          fields: metaFields(rs),
          render: () => renderReplicaSet(state, key, w, rs),
          cells: (now: number) => replicaSetCells(state, key, w, rs, now),
        }];
      }),
  },
  {
    group: "coordination.k8s.io",
    resource: "leases",
    kind: "Lease",
    namespaced: true,
    selectableFields: META_FIELDS,
    items: (state, namespace) =>
      [...state.leases.values()]
        .filter((l) => inNamespace(l.meta, namespace))
        .map((l) => ({
          meta: l.meta,
          labels: l.meta.labels,
          fields: metaFields(l.meta),
          render: () => renderLease(l),
          cells: (now) => leaseCells(l.meta, l.spec.holderIdentity, now),
        })),
  },
  {
    group: "policy",
    resource: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    namespaced: true,
    selectableFields: META_FIELDS,
    items: (state, namespace) =>
      [...state.pdbs.values()]
        .filter((b) => inNamespace(b.meta, namespace))
        .map((b) => ({
          meta: b.meta,
          labels: b.meta.labels,
          fields: metaFields(b.meta),
          render: () => renderPdb(b),
          cells: (now) => pdbCells(b, now),
        })),
  },
];

/** The collection serving `resource` in `group`, if any. */
export function findCollection(group: GroupName, resource: string): Collection | undefined {
  return COLLECTIONS.find((c) => c.group === group && c.resource === resource);
}

/** GET of one object; undefined when it does not exist. */
export function findItem(state: ClusterState, c: Collection, namespace: string | undefined, name: string): Item | undefined {
  // Direct lookups for the hot paths; the rest scan.
  if (c.resource === "pods" && namespace !== undefined && !state.pods.has(podKey(namespace, name))) return undefined;
  return c.items(state, namespace).find((i) => i.meta.name === name);
}

function apiVersionOf(group: GroupName): string {
  return group === "" ? "v1" : `${group}/v1`;
}

/** A List object, items sorted by namespace and name like the real storage returns them. */
export function renderList(c: Collection, items: readonly Item[], resourceVersion: string): Obj {
  return {
    kind: `${c.kind}List`,
    apiVersion: apiVersionOf(c.group),
    metadata: { resourceVersion },
    items: sortItems(items).map((i) => {
      const { kind: _kind, apiVersion: _apiVersion, ...rest } = i.render();
      return rest;
    }),
  };
}

/** The items as a Table, sorted like renderList. */
export function renderItemsTable(c: Collection, items: readonly Item[], resourceVersion: string, include: IncludeObject, now: number): Obj {
  return renderTable(c.resource, sortItems(items).map((i) => ({ cells: i.cells(now), object: i.render() })), resourceVersion, include);
}

function sortItems(items: readonly Item[]): Item[] {
  const key = (i: Item): string => `${i.meta.namespace ?? ""}/${i.meta.name}`;
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
