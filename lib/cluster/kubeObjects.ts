/**
 * Pure readings of API objects into the shapes the rollout uses. Inputs are structural subsets
 * of client-node's V1Node and V1Pod so these stay testable without a server.
 */
import type { NodeState, PodOwner } from "./cluster";

/** Annotation the kubelet sets on the API mirror of a static pod. */
export const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

/** The Node fields nodeState reads. */
export interface NodeLike {
  readonly metadata?: { readonly name?: string };
  readonly spec?: { readonly unschedulable?: boolean };
  readonly status?: {
    readonly conditions?: ReadonlyArray<{ readonly type?: string; readonly status?: string }>;
    readonly nodeInfo?: { readonly bootID?: string };
  };
}

/** The Pod fields podOwner reads. */
export interface PodLike {
  readonly metadata?: {
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: ReadonlyArray<{ readonly kind?: string }>;
  };
}

/** Ready is the Ready condition being "True"; a missing bootID reads as "". */
export function nodeState(n: NodeLike): NodeState {
  return {
    name: n.metadata?.name ?? "",
    ready: n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True",
    bootId: n.status?.nodeInfo?.bootID ?? "",
    unschedulable: n.spec?.unschedulable === true,
  };
}

/** Mirror pods first (they may be owned by the Node), then DaemonSet-owned, else other. */
export function podOwner(p: PodLike): PodOwner {
  if (p.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return "mirror";
  if (p.metadata?.ownerReferences?.some((o) => o.kind === "DaemonSet") === true) return "daemonset";
  return "other";
}
