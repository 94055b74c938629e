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
  /**
   * Budgets ("namespace/name") that allow no disruption until the given clock time: until then
   * their status says 0 disruptions allowed and evictions of their pods get a 429, after it 1.
   */
  budgetFreesAt = new Map<string, number>();

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
    const frees = p.budget === undefined ? undefined : this.budgetFreesAt.get(`${p.namespace}/${p.budget}`);
    if (frees !== undefined && this.now() < frees) {
      this.calls.push(`blocked ${pod.name}`);
      return { kind: "blocked", message: "Cannot evict pod as it would violate the pod's disruption budget.", budget: p.budget as string };
    }
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
  async disruptionsAllowed(namespace: string, budget: string) {
    const frees = this.budgetFreesAt.get(`${namespace}/${budget}`);
    if (frees === undefined) return undefined;
    return this.now() < frees ? 0 : 1;
  }
  private now(): number {
    return this.clock ? this.clock.now() : Date.now();
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
/**
 * A clock whose sleeps end in virtual time, earliest first, each once everything else has run:
 * waits that run side by side take as long as the longest, as with real timers.
 */
export function virtualClock() {
  let t = 1_000_000;
  const timers: { at: number; seq: number; resolve: () => void }[] = [];
  let seq = 0;
  let scheduled = false;
  const tick = () => {
    scheduled = false;
    timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = timers.shift();
    if (!next) return;
    t = Math.max(t, next.at);
    next.resolve();
    if (timers.length > 0) schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(tick);
  };
  return {
    now: () => t,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        timers.push({ at: t + ms, seq: seq++, resolve });
        schedule();
      }),
  };
}

export function fastClock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}
