/**
 * Pure readings of API objects into the shapes the rollout uses. Inputs are structural subsets
 * of client-node's V1Node and V1Pod so these stay testable without a server.
 */
import type { NodeState, PodOnNode, PodOwner, PodPhase } from "./cluster";

/** Annotation the kubelet sets on the API mirror of a static pod. */
export const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

/** The Node fields nodeState reads. */
export interface NodeLike {
  readonly metadata?: { readonly name?: string; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec?: { readonly unschedulable?: boolean };
  readonly status?: {
    readonly conditions?: ReadonlyArray<{ readonly type?: string; readonly status?: string }>;
    readonly nodeInfo?: { readonly bootID?: string };
  };
}

/** The Pod fields podOwner and podOnNode read. */
export interface PodLike {
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly uid?: string;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly labels?: Readonly<Record<string, string>>;
    readonly ownerReferences?: ReadonlyArray<{ readonly kind?: string; readonly name?: string; readonly controller?: boolean }>;
  };
  readonly spec?: { readonly volumes?: ReadonlyArray<{ readonly name?: string; readonly emptyDir?: object }> };
  readonly status?: { readonly phase?: string };
}

/** Ready is the Ready condition being "True"; a missing bootID reads as "". */
export function nodeState(n: NodeLike): NodeState {
  return {
    name: n.metadata?.name ?? "",
    ready: n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True",
    bootId: n.status?.nodeInfo?.bootID ?? "",
    unschedulable: n.spec?.unschedulable === true,
    annotations: { ...(n.metadata?.annotations ?? {}) },
  };
}

/**
 * Mirror pods first (the kubelet makes their Node their controller), then the kind of the
 * controller reference. Only a reference with controller: true counts, as in kubectl drain: an
 * owner that does not control the pod does not bring it back after an eviction.
 */
export function podOwner(p: PodLike): PodOwner {
  if (p.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return "mirror";
  const controller = p.metadata?.ownerReferences?.find((o) => o.controller === true);
  if (controller === undefined) return "none";
  return controller.kind === "DaemonSet" ? "daemonset" : "controller";
}

/**
 * The workload a pod belongs to, as the health gates name workloads: its DaemonSet or
 * StatefulSet, or the Deployment of its ReplicaSet (the ReplicaSet's name is the Deployment's
 * plus "-" and the pod-template-hash label). Undefined for any other pod.
 */
export function podWorkload(p: PodLike): PodOnNode["workload"] {
  const c = p.metadata?.ownerReferences?.find((o) => o.controller === true);
  if (c?.name === undefined) return undefined;
  if (c.kind === "DaemonSet" || c.kind === "StatefulSet") return { kind: c.kind, name: c.name };
  const hash = p.metadata?.labels?.["pod-template-hash"];
  if (c.kind === "ReplicaSet" && hash !== undefined && c.name.endsWith(`-${hash}`)) return { kind: "Deployment", name: c.name.slice(0, -hash.length - 1) };
  return undefined;
}

const PHASES: readonly PodPhase[] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/** A pod as a drain judges it; an unknown or missing phase reads as "Unknown". */
export function podOnNode(p: PodLike): PodOnNode {
  const phase = PHASES.find((x) => x === p.status?.phase) ?? "Unknown";
  return {
    namespace: p.metadata?.namespace ?? "",
    name: p.metadata?.name ?? "",
    uid: p.metadata?.uid ?? "",
    owner: podOwner(p),
    emptyDirs: (p.spec?.volumes ?? []).filter((v) => v.emptyDir !== undefined && v.emptyDir !== null).map((v) => v.name ?? ""),
    phase,
    ...(podWorkload(p) === undefined ? {} : { workload: podWorkload(p) }),
  };
}

/**
 * The PodDisruptionBudget an eviction's 429 names in its causes. The API server words its
 * DisruptionBudget cause "The disruption budget <name> needs <n> healthy pods and has <m> currently".
 */
export function budgetOf(causes: readonly string[]): string | undefined {
  for (const c of causes) {
    const m = /disruption budget (\S+) needs/.exec(c);
    if (m !== null) return m[1];
  }
  return undefined;
}
