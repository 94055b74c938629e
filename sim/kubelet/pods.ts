/**
 * What the simulated kubelets do with pods, from one list of every pod: a pod bound to a node
 * whose kubelet runs and is Ready starts (Running, Ready) `startMs` after the kubelet first saw
 * it; a pod being deleted on a node whose kubelet runs is removed, by uid, after its grace
 * period capped at `terminationMs`. Pods on a node whose kubelet is gone stay as they are.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Api } from "./api";
import { MERGE_PATCH, unless } from "./api";

/** The kubelet of a node, as the pod loop sees it. */
export interface PodHost {
  readonly ready: boolean;
  readonly address: string;
}

/** What to do with one pod now. */
export type PodAction = { readonly kind: "start" } | { readonly kind: "remove" } | { readonly kind: "wait" };

/** Pods' terminationGracePeriodSeconds when the spec has none (the API server's default). */
const DEFAULT_GRACE_SECONDS = 30;

/** Whether a pod is Running with its Ready condition true. */
export function isRunningReady(p: V1Pod): boolean {
  return p.status?.phase === "Running" && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

/**
 * The decision for one pod: `seenAtMs` is when its kubelet first saw it in its current state
 * (bound, or being deleted). Pure.
 */
export function podAction(p: V1Pod, host: PodHost, seenAtMs: number, now: number, delays: { startMs: number; terminationMs: number }): PodAction {
  if (p.metadata?.deletionTimestamp !== undefined) {
    const grace = p.metadata.deletionGracePeriodSeconds ?? p.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    return now - seenAtMs >= Math.min(grace * 1000, delays.terminationMs) ? { kind: "remove" } : { kind: "wait" };
  }
  if (!host.ready || isRunningReady(p) || p.status?.phase === "Succeeded" || p.status?.phase === "Failed") return { kind: "wait" };
  return now - seenAtMs >= delays.startMs ? { kind: "start" } : { kind: "wait" };
}

/** The status a kubelet reports once a pod's containers run and pass their checks. */
export function runningStatus(p: V1Pod, host: PodHost, now: Date) {
  const startedAt = p.status?.startTime ?? now;
  return {
    phase: "Running",
    hostIP: host.address,
    startTime: startedAt,
    conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({ type, status: "True", lastTransitionTime: now })),
    containerStatuses: (p.spec?.containers ?? []).map((c) => ({
      name: c.name, image: c.image ?? "", imageID: "", ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
    })),
  };
}

/** The pod loop of every simulated kubelet, with the moments it first saw each pod in its state. */
export class PodLoop {
  private readonly seen = new Map<string, number>();
  /** namespace/name → node of the pods seen bound lately (who a pod's eviction concerns). */
  private readonly nodes = new Map<string, { node: string; at: number }>();

  constructor(
    private readonly api: Api,
    private readonly delays: { readonly startMs: number; readonly terminationMs: number },
  ) {}

  /** The node a pod was last seen on, if any. */
  nodeOf(namespace: string, name: string): string | undefined {
    return this.nodes.get(`${namespace}/${name}`)?.node;
  }

  /** Lists every pod and acts on those of the running kubelets in `hosts`. */
  async tick(hosts: ReadonlyMap<string, PodHost>, now: number): Promise<void> {
    const pods = (await this.api.core.listPodForAllNamespaces({})).items;
    const live = new Set<string>();
    const work: Promise<unknown>[] = [];
    for (const p of pods) {
      const node = p.spec?.nodeName;
      const uid = p.metadata?.uid ?? "";
      if (!node) continue;
      this.nodes.set(`${p.metadata?.namespace}/${p.metadata?.name}`, { node, at: now });
      const host = hosts.get(node);
      if (host === undefined) continue;
      const key = `${uid}/${p.metadata?.deletionTimestamp === undefined ? "bound" : "deleting"}`;
      live.add(key);
      if (!this.seen.has(key)) this.seen.set(key, now);
      const action = podAction(p, host, this.seen.get(key) ?? now, now, this.delays);
      if (action.kind === "start") work.push(this.start(p, host, now));
      if (action.kind === "remove") work.push(this.remove(p));
    }
    for (const key of this.seen.keys()) if (!live.has(key)) this.seen.delete(key);
    for (const [key, v] of this.nodes) if (now - v.at > 600_000) this.nodes.delete(key);
    await Promise.all(work);
  }

  private start(p: V1Pod, host: PodHost, now: number): Promise<unknown> {
    const ref = { name: p.metadata?.name ?? "", namespace: p.metadata?.namespace ?? "" };
    return unless(404, this.api.core.patchNamespacedPodStatus({ ...ref, body: { status: runningStatus(p, host, new Date(now)) } }, MERGE_PATCH));
  }

  /** Deletes the pod for good, only if it is still the same pod (uid). */
  private remove(p: V1Pod): Promise<unknown> {
    const ref = { name: p.metadata?.name ?? "", namespace: p.metadata?.namespace ?? "" };
    return unless(409, unless(404, this.api.core.deleteNamespacedPod({ ...ref, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: p.metadata?.uid } } })));
  }
}
