/**
 * Unaggregated discovery (/api, /apis, /api/v1, /apis/{group}/{version}) and /version.
 * Clients that ask for aggregated discovery get plain JSON and fall back, as they do with
 * servers older than 1.26. Verbs list only what this server implements.
 */
import { KUBE_VERSION } from "./constants";

type Obj = Record<string, unknown>;

/** The API groups served ("" is core). */
export type GroupName = "" | "apps" | "policy" | "coordination.k8s.io";

interface ResourceDef {
  readonly group: GroupName;
  readonly name: string;
  readonly singularName: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  /** For subresources served in another group (pods/eviction is policy/v1 Eviction). */
  readonly subGroup?: GroupName;
}

const RESOURCES: readonly ResourceDef[] = [
  { group: "", name: "namespaces", singularName: "namespace", kind: "Namespace", namespaced: false, verbs: ["get", "list"], shortNames: ["ns"] },
  { group: "", name: "nodes", singularName: "node", kind: "Node", namespaced: false, verbs: ["delete", "get", "list", "patch"], shortNames: ["no"] },
  { group: "", name: "nodes/status", singularName: "", kind: "Node", namespaced: false, verbs: ["get"] },
  { group: "", name: "pods", singularName: "pod", kind: "Pod", namespaced: true, verbs: ["create", "delete", "get", "list"], shortNames: ["po"], categories: ["all"] },
  { group: "", name: "pods/eviction", singularName: "", kind: "Eviction", namespaced: true, verbs: ["create"], subGroup: "policy" },
  { group: "", name: "pods/status", singularName: "", kind: "Pod", namespaced: true, verbs: ["get"] },
  { group: "apps", name: "daemonsets", singularName: "daemonset", kind: "DaemonSet", namespaced: true, verbs: ["get", "list"], shortNames: ["ds"], categories: ["all"] },
  { group: "apps", name: "deployments", singularName: "deployment", kind: "Deployment", namespaced: true, verbs: ["get", "list"], shortNames: ["deploy"], categories: ["all"] },
  { group: "apps", name: "replicasets", singularName: "replicaset", kind: "ReplicaSet", namespaced: true, verbs: ["get", "list"], shortNames: ["rs"], categories: ["all"] },
  { group: "apps", name: "statefulsets", singularName: "statefulset", kind: "StatefulSet", namespaced: true, verbs: ["get", "list"], shortNames: ["sts"], categories: ["all"] },
  { group: "coordination.k8s.io", name: "leases", singularName: "lease", kind: "Lease", namespaced: true, verbs: ["create", "delete", "get", "list", "update"] },
  { group: "policy", name: "poddisruptionbudgets", singularName: "poddisruptionbudget", kind: "PodDisruptionBudget", namespaced: true, verbs: ["get", "list"], shortNames: ["pdb"] },
];

const GROUPS: readonly Exclude<GroupName, "">[] = ["apps", "policy", "coordination.k8s.io"];

/** GET /version. */
export function versionInfo(): Obj {
  return {
    major: KUBE_VERSION.major,
    minor: KUBE_VERSION.minor,
    gitVersion: KUBE_VERSION.gitVersion,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-04-22T16:00:00Z",
    goVersion: "go1.23.8",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

/** GET /api. */
export function apiVersions(serverAddress: string): Obj {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

function groupObject(name: string): Obj {
  const v = { groupVersion: `${name}/v1`, version: "v1" };
  return { name, versions: [v], preferredVersion: v };
}

/** GET /apis. */
export function apiGroupList(): Obj {
  return { kind: "APIGroupList", apiVersion: "v1", groups: GROUPS.map(groupObject) };
}

/** GET /apis/{group}; undefined for a group we do not serve. */
export function apiGroup(name: string): Obj | undefined {
  return (GROUPS as readonly string[]).includes(name) ? { kind: "APIGroup", apiVersion: "v1", ...groupObject(name) } : undefined;
}

/** GET /api/v1 or /apis/{group}/v1; undefined for a group version we do not serve. */
export function apiResourceList(group: GroupName): Obj | undefined {
  if (group !== "" && !GROUPS.includes(group)) return undefined;
  const resources = RESOURCES.filter((r) => r.group === group).map((r) => ({
    name: r.name,
    singularName: r.singularName,
    namespaced: r.namespaced,
    ...(r.subGroup === undefined ? {} : { group: r.subGroup, version: "v1" }),
    kind: r.kind,
    verbs: r.verbs,
    ...(r.shortNames === undefined ? {} : { shortNames: r.shortNames }),
    ...(r.categories === undefined ? {} : { categories: r.categories }),
  }));
  return {
    kind: "APIResourceList",
    ...(group === "" ? {} : { apiVersion: "v1" }),
    groupVersion: group === "" ? "v1" : `${group}/v1`,
    resources,
  };
}

/** Whether `resource` (no subresource) is served in `group` and namespaced. */
export function resourceScope(group: GroupName, resource: string): "namespaced" | "cluster" | undefined {
  const r = RESOURCES.find((d) => d.group === group && d.name === resource);
  return r === undefined ? undefined : r.namespaced ? "namespaced" : "cluster";
}
