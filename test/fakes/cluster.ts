/** An in-memory Cluster for unit tests of drain and health gates. */
import type { Cluster, EvictionResult, LeaseSpec, LeaseState, LeaseWrite, NodeState, PodRef, WorkloadHealth } from "../../lib/cluster/cluster";

export class FakeCluster implements Cluster {
  nodes = new Map<string, NodeState>();
  pods: Array<PodRef & { node: string; blockedTimes?: number; gone?: boolean }> = [];
  workloads = new Map<string, WorkloadHealth[]>();
  calls: string[] = [];

  addNode(name: string, ready = true, bootId = "b0"): this {
    this.nodes.set(name, { name, ready, bootId, unschedulable: false });
    return this;
  }

  async getNode(name: string) {
    return this.nodes.get(name);
  }
  async listNodes() {
    return [...this.nodes.values()];
  }
  labels = new Map<string, Record<string, string>>();
  async setNodeLabels(name: string, set: Readonly<Record<string, string>>, remove: readonly string[]) {
    const now = { ...(this.labels.get(name) ?? {}) };
    for (const k of remove) delete now[k];
    this.labels.set(name, { ...now, ...set });
    this.calls.push(`label ${name}`);
  }
  async setUnschedulable(name: string, unschedulable: boolean) {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    this.nodes.set(name, { ...n, unschedulable });
    this.calls.push(`${unschedulable ? "cordon" : "uncordon"} ${name}`);
  }
  async listPodsOnNode(node: string) {
    return this.pods.filter((p) => p.node === node && !p.gone).map(({ namespace, name, uid, owner }) => ({ namespace, name, uid, owner }));
  }
  async evictPod(pod: PodRef): Promise<EvictionResult> {
    const p = this.pods.find((x) => x.uid === pod.uid && !x.gone);
    if (!p) return { kind: "gone" };
    if (p.blockedTimes && p.blockedTimes > 0) {
      p.blockedTimes--;
      this.calls.push(`blocked ${pod.name}`);
      return { kind: "blocked", message: "Cannot evict pod as it would violate the pod's disruption budget." };
    }
    p.gone = true;
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
  annotations = new Map<string, Record<string, string>>();
  async getNodeAnnotation(name: string, key: string) {
    return this.annotations.get(name)?.[key];
  }
  async setNodeAnnotation(name: string, key: string, value: string | null) {
    const now = { ...(this.annotations.get(name) ?? {}) };
    if (value === null) delete now[key];
    else now[key] = value;
    this.annotations.set(name, now);
    this.calls.push(`annotate ${name} ${key}${value === null ? "-" : ""}`);
  }
  /** Leases with the API server's optimistic concurrency: a write naming an old resourceVersion conflicts. */
  leases = new Map<string, LeaseState>();
  private leaseVersion = 0;
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
