/**
 * What moves the simulated cluster forward: the kubelets (node readiness, pod termination and
 * readiness, mirror pods), the workload controllers (replacing missing pods after
 * rescheduleMs) and the status writers. The host events (up, down) and the faults arrive here
 * from the fleet; tick() runs on a timer.
 */
import type { TimelineKind, SimTimings } from "../types";
import {
  type ClusterState,
  type ConditionStatus,
  type KubeFault,
  type NodeRecord,
  type NodeRole,
  type PodRecord,
  type WorkloadRecord,
  isActive,
  kubeTime,
} from "./model";
import { refreshPdbStatus } from "./pdb";
import { beginPodDeletion, createMirrorPod, createWorkloadPod, removePod, setPodReady } from "./pods";
import { addPinnedWorkload, registerNode, removePinnedWorkload } from "./seed";
import { refreshWorkloadStatus } from "./workloadStatus";

/** Where timeline events go. */
export type Recorder = (host: string, kind: TimelineKind, detail?: Record<string, unknown>) => void;

/** A node of the fleet as the simulator was told about it (kept for re-registration). */
export interface KnownNode {
  readonly name: string;
  readonly role: NodeRole;
  readonly index: number;
  readonly address?: string;
}

const NEVER_READY_MESSAGE =
  "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

/** The simulated kubelets and controllers over one ClusterState. */
export class Controllers {
  constructor(
    private readonly state: ClusterState,
    private readonly timings: SimTimings,
    private readonly known: ReadonlyMap<string, KnownNode>,
    private readonly record: Recorder,
  ) {}

  private node(name: string): NodeRecord {
    const n = this.state.nodes.get(name);
    if (n !== undefined) return n;
    const k = this.known.get(name);
    if (k === undefined) throw new Error(`simulated Kubernetes: no node named ${JSON.stringify(name)} (known: ${[...this.known.keys()].join(", ")})`);
    // A kubelet whose Node object was deleted registers it again when it starts.
    return registerNode(this.state, k.name, k.role, k.index, k.address);
  }

  private setReady(n: NodeRecord, status: ConditionStatus, reason: string, message: string): void {
    const was = n.ready.status;
    const now = this.state.now();
    n.ready = { status, reason, message, since: was === status ? n.ready.since : kubeTime(now) };
    this.state.touch(n.meta);
    if (was === status) return;
    if (status === "True") {
      this.record(n.meta.name, "ready", { bootId: n.bootId });
      for (const p of this.state.podsOnNode(n.meta.name)) {
        if (isActive(p) && !p.ready) p.readyDueAt = now + this.timings.rescheduleMs;
      }
    } else {
      if (was === "True") this.record(n.meta.name, "not-ready", { bootId: n.bootId });
      for (const p of this.state.podsOnNode(n.meta.name)) setPodReady(this.state, p, false);
    }
  }

  /** The host finished booting with `bootId`: the kubelet starts and reports Ready later. */
  hostUp(name: string, bootId: string): void {
    const n = this.node(name);
    const now = this.state.now();
    n.kubelet = "starting";
    n.bootId = bootId;
    const neverReady = this.state.hasFault(name, "kubelet-never-ready");
    n.readyDueAt = neverReady ? undefined : now + this.timings.kubeletReadyMs;
    this.setReady(n, "False", "KubeletNotReady", neverReady ? NEVER_READY_MESSAGE : "container runtime status check may not have completed yet");
    for (const p of this.state.podsOnNode(name)) {
      if (p.bootId === bootId) continue;
      const firstStart = p.bootId === "";
      p.bootId = bootId;
      if (firstStart) continue;
      // Containers of a rebooted node are restarted by its kubelet.
      p.restartCount++;
      p.containersStarted = kubeTime(now);
      this.state.touch(p.meta);
    }
  }

  /** The host went down: its Node is NotReady (Unknown) at once and its pods not ready. */
  hostDown(name: string): void {
    const n = this.state.nodes.get(name);
    if (n === undefined) {
      if (!this.known.has(name)) throw new Error(`simulated Kubernetes: no node named ${JSON.stringify(name)}`);
      return;
    }
    n.kubelet = "down";
    n.readyDueAt = undefined;
    this.setReady(n, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.");
  }

  setFault(name: string, fault: KubeFault, on: boolean): void {
    if (!this.known.has(name)) throw new Error(`simulated Kubernetes: no node named ${JSON.stringify(name)}`);
    const set = this.state.faults.get(name) ?? new Set<KubeFault>();
    this.state.faults.set(name, set);
    if (on) set.add(fault);
    else set.delete(fault);
    const n = this.state.nodes.get(name);
    if (fault === "kubelet-never-ready" && n !== undefined && n.kubelet === "starting") {
      n.readyDueAt = on ? undefined : this.state.now() + this.timings.kubeletReadyMs;
      this.setReady(n, "False", "KubeletNotReady", on ? NEVER_READY_MESSAGE : "container runtime status check may not have completed yet");
    }
    if (fault === "pdb-blocks") {
      if (on && n !== undefined) addPinnedWorkload(this.state, n);
      if (!on) removePinnedWorkload(this.state, name, this.timings.podTerminationMs);
    }
    this.refreshStatuses();
  }

  /** Cordon or uncordon (spec.unschedulable), recording the change. */
  setUnschedulable(n: NodeRecord, unschedulable: boolean): void {
    if (n.unschedulable === unschedulable) return;
    n.unschedulable = unschedulable;
    n.cordonedAt = unschedulable ? kubeTime(this.state.now()) : undefined;
    this.record(n.meta.name, unschedulable ? "cordon" : "uncordon");
  }

  /** DELETE of a Node: the pod garbage collector removes its pods at once. */
  deleteNode(n: NodeRecord): void {
    this.state.nodes.delete(n.meta.name);
    for (const p of this.state.podsOnNode(n.meta.name)) removePod(this.state, p);
    this.record(n.meta.name, "node-deleted");
    this.refreshStatuses();
  }

  /** Graceful DELETE of a pod (or eviction): gone once its kubelet stopped it. */
  deletePod(p: PodRecord, graceSeconds: number): void {
    if (graceSeconds === 0) removePod(this.state, p);
    else beginPodDeletion(this.state, p, graceSeconds, this.timings.podTerminationMs);
    this.refreshStatuses();
  }

  /** One pass of every simulated controller. */
  tick(): void {
    const now = this.state.now();
    for (const n of this.state.nodes.values()) {
      if (n.kubelet === "starting" && n.readyDueAt !== undefined && n.readyDueAt <= now) {
        n.kubelet = "ready";
        n.readyDueAt = undefined;
        this.setReady(n, "True", "KubeletReady", "kubelet is posting ready status");
      }
      if (n.role === "control-plane" && n.kubelet !== "down" && !this.state.pods.has(`kube-system/kube-apiserver-${n.meta.name}`)) {
        createMirrorPod(this.state, n);
      }
    }
    for (const p of [...this.state.pods.values()]) this.kubeletPass(p, now);
    for (const [key, w] of this.state.workloads) this.reconcile(key, w, now);
    this.refreshStatuses();
  }

  private kubeletPass(p: PodRecord, now: number): void {
    const n = this.state.nodes.get(p.nodeName);
    if (p.deletion !== undefined) {
      // Only a running kubelet confirms termination; a pod on a down host stays Terminating.
      if (p.deletion.goneAfter <= now && (n === undefined || n.kubelet !== "down")) removePod(this.state, p);
      return;
    }
    if (p.ready || n === undefined || n.ready.status !== "True") return;
    if (p.readyDueAt === undefined) p.readyDueAt = now + this.timings.rescheduleMs;
    else if (p.readyDueAt <= now) setPodReady(this.state, p, true);
  }

  /** Picks the Ready node with the fewest pods of this workload, then the fewest pods. */
  private placement(key: string, w: WorkloadRecord): NodeRecord | undefined {
    const count = (node: string, own: boolean): number =>
      this.state.podsOnNode(node).filter((p) => isActive(p) && (!own || p.workload === key)).length;
    return this.state
      .schedulableNodes(w.template)
      .map((n) => ({ n, own: count(n.meta.name, true), all: count(n.meta.name, false) }))
      .sort((a, b) => a.own - b.own || a.all - b.all || a.n.index - b.n.index)[0]?.n;
  }

  private reconcile(key: string, w: WorkloadRecord, now: number): void {
    const delay = this.timings.rescheduleMs;
    const pods = this.state.podsOf(key);
    if (w.kind === "Deployment") {
      const shortfall = w.replicas - pods.filter(isActive).length;
      while (w.replacementsDue.length < shortfall) w.replacementsDue.push(now + delay);
      w.replacementsDue.length = Math.max(0, Math.min(w.replacementsDue.length, shortfall));
      while (w.replacementsDue.length > 0 && w.replacementsDue[0] <= now) {
        const node = this.placement(key, w);
        if (node === undefined) break;
        createWorkloadPod(this.state, key, w, node);
        w.replacementsDue.shift();
      }
      return;
    }
    const wanted =
      w.kind === "DaemonSet"
        ? [...this.state.nodes.keys()].filter((node) => !pods.some((p) => isActive(p) && p.nodeName === node))
        : Array.from({ length: w.replicas }, (_, i) => String(i)).filter((i) => !pods.some((p) => p.ordinal === Number(i)));
    for (const slot of [...w.missingSince.keys()]) if (!wanted.includes(slot)) w.missingSince.delete(slot);
    for (const slot of wanted) {
      const since = w.missingSince.get(slot);
      if (since === undefined) {
        w.missingSince.set(slot, now);
        continue;
      }
      if (now - since < delay) continue;
      const node = w.kind === "DaemonSet" ? this.state.nodes.get(slot) : this.placement(key, w);
      if (node === undefined) continue;
      createWorkloadPod(this.state, key, w, node, w.kind === "StatefulSet" ? Number(slot) : undefined);
      w.missingSince.delete(slot);
    }
  }

  /** Rewrites workload and budget statuses from the pods as they are now. */
  refreshStatuses(): void {
    for (const [key, w] of this.state.workloads) refreshWorkloadStatus(this.state, key, w);
    for (const pdb of this.state.pdbs.values()) refreshPdbStatus(this.state, pdb);
  }
}
