/** An in-memory Cluster for unit tests of drain, cordon and health gates. */
import type { Cluster, EvictionResult, LeaseSpec, LeaseState, LeaseWrite, NamedLease, NodeState, PodOnNode, PodRef, WorkloadHealth } from "../../lib/cluster/cluster";
import type { Clock } from "../../lib/rollout/wait";

/** A pod of the fake, with knobs for the Eviction API's answers. */
export type FakePod = PodOnNode & {
  node: string;
  /** How many evictions a PodDisruptionBudget refuses before one goes through. */
  blockedTimes?: number;
  /** The budget the 429 names. */
  budget?: string;
  gone?: boolean;
};

/** A pod as a Deployment's ReplicaSet would own it, running, without emptyDir volumes. */
export function fakePod(node: string, name: string, extra: Partial<FakePod> = {}): FakePod {
  return { namespace: "default", name, uid: `uid-${name}`, owner: "controller", emptyDirs: [], phase: "Running", node, ...extra };
}

export class FakeCluster implements Cluster {
  nodes = new Map<string, NodeState>();
  pods: FakePod[] = [];
  workloads = new Map<string, WorkloadHealth[]>();
  calls: string[] = [];
  /** Nodes whose kubelet is gone: a pod evicted there stays (Terminating) instead of going. */
  noKubelet = new Set<string>();
  /** When each eviction was asked for, by the clock given to the constructor. */
  evictionTimes: number[] = [];

  constructor(private readonly clock?: Clock) {}

  addNode(name: string, ready = true, bootId = "b0", extra: Partial<NodeState> = {}): this {
    this.nodes.set(name, { name, ready, bootId, unschedulable: false, annotations: {}, ...extra });
    return this;
  }

  async getNode(name: string) {
    return this.nodes.get(name);
  }
  async listNodes() {
    return [...this.nodes.values()];
  }
  async setUnschedulable(name: string, unschedulable: boolean, annotations: Readonly<Record<string, string | null>> = {}) {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    const merged: Record<string, string> = { ...n.annotations };
    for (const [k, v] of Object.entries(annotations)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    this.nodes.set(name, { ...n, unschedulable, annotations: merged });
    this.calls.push(`${unschedulable ? "cordon" : "uncordon"} ${name}`);
  }
  async listPodsOnNode(node: string): Promise<PodOnNode[]> {
    return this.pods
      .filter((p) => p.node === node && !p.gone)
      .map(({ namespace, name, uid, owner, emptyDirs, phase, workload }) => ({ namespace, name, uid, owner, emptyDirs, phase, ...(workload === undefined ? {} : { workload }) }));
  }
  async evictPod(pod: PodRef): Promise<EvictionResult> {
    if (this.clock) this.evictionTimes.push(this.clock.now());
    const p = this.pods.find((x) => x.uid === pod.uid && !x.gone);
    if (!p) return { kind: "gone" };
    if (p.blockedTimes && p.blockedTimes > 0) {
      p.blockedTimes--;
      this.calls.push(`blocked ${pod.name}`);
      return {
        kind: "blocked",
        message: "Cannot evict pod as it would violate the pod's disruption budget.",
        ...(p.budget === undefined ? {} : { budget: p.budget }),
      };
    }
    if (!this.noKubelet.has(p.node)) p.gone = true;
    this.calls.push(`evict ${pod.name}`);
    return { kind: "evicted" };
  }
  async podExists(pod: PodRef) {
    return this.pods.some((x) => x.uid === pod.uid && !x.gone);
  }
  async listWorkloads(namespace: string) {
    return this.workloads.get(namespace) ?? [];
  }
  async deleteNode(name: string) {
    this.nodes.delete(name);
    this.calls.push(`delete ${name}`);
  }
  async getNodeAnnotation(name: string, key: string) {
    return this.nodes.get(name)?.annotations[key];
  }
  async setNodeAnnotation(name: string, key: string, value: string | null) {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    const annotations: Record<string, string> = { ...n.annotations };
    if (value === null) delete annotations[key];
    else annotations[key] = value;
    this.nodes.set(name, { ...n, annotations });
    this.calls.push(`annotate ${name} ${key}${value === null ? "-" : ""}`);
  }
  /** Leases with the API server's optimistic concurrency: a write naming an old resourceVersion conflicts. */
  leases = new Map<string, LeaseState>();
  private leaseVersion = 0;
  /** Runs before each list answers, e.g. to let a racing rollout write between two reads. */
  beforeList: (() => void | Promise<void>) | undefined;
  async listLeases(namespace: string): Promise<NamedLease[]> {
    await this.beforeList?.();
    return [...this.leases.entries()].filter(([k]) => k.startsWith(`${namespace}/`)).map(([k, l]) => ({ name: k.slice(namespace.length + 1), ...l }));
  }
  async getLease(namespace: string, name: string) {
    return this.leases.get(`${namespace}/${name}`);
  }
  async createLease(namespace: string, name: string, spec: LeaseSpec): Promise<LeaseWrite> {
    const key = `${namespace}/${name}`;
    if (this.leases.has(key)) return { kind: "conflict" };
    const lease = { spec, resourceVersion: String(++this.leaseVersion) };
    this.leases.set(key, lease);
    this.calls.push(`lease ${spec.holderIdentity ?? ""}`);
    return { kind: "written", lease };
  }
  async updateLease(namespace: string, name: string, resourceVersion: string, spec: LeaseSpec): Promise<LeaseWrite> {
    const key = `${namespace}/${name}`;
    if (this.leases.get(key)?.resourceVersion !== resourceVersion) return { kind: "conflict" };
    const lease = { spec, resourceVersion: String(++this.leaseVersion) };
    this.leases.set(key, lease);
    this.calls.push(`lease ${spec.holderIdentity ?? ""}`);
    return { kind: "written", lease };
  }
}

/** A clock whose sleeps pass instantly, for waits with deadlines. */
export function fastClock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}
