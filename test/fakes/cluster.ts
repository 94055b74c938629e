/** An in-memory Cluster for unit tests of drain and health gates. */
import type { Cluster, EvictionResult, NodeState, PodRef, WorkloadHealth } from "../../lib/cluster/cluster";

export class FakeCluster implements Cluster {
  nodes = new Map<string, NodeState>();
  pods: Array<PodRef & { node: string; blockedTimes?: number; gone?: boolean }> = [];
  workloads = new Map<string, WorkloadHealth[]>();
  calls: string[] = [];

  addNode(name: string, ready = true, bootId = "b0"): this {
    this.nodes.set(name, { name, ready, bootId, unschedulable: false });
    return this;
  }

  owners = new Map<string, string>();
  async nodeOwner(name: string) {
    return this.nodes.has(name) ? this.owners.get(name) : undefined;
  }
  async setNodeOwner(name: string, host: string) {
    if (!this.nodes.has(name)) throw new Error(`no node ${name}`);
    this.owners.set(name, host);
    this.calls.push(`annotate ${name}`);
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
}

/** A clock whose sleeps pass instantly, for waits with deadlines. */
export function fastClock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}
