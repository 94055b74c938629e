/**
 * The simulated cluster's state: plain records the handlers render into API objects and
 * the controllers move forward in time. Nothing here talks HTTP.
 */
import { createHash, randomUUID } from "node:crypto";
import type { WorkloadKind } from "../../lib/cluster/cluster";
import type { LeaseRecord } from "./leases";

export type Labels = Record<string, string>;
export type ConditionStatus = "True" | "False" | "Unknown";
/** What the host under a Node is doing, as far as its kubelet goes. */
export type KubeletState = "down" | "starting" | "ready";
/** Faults the simulated cluster honours (a subset of sim/types.ts FAULTS). */
export type KubeFault = "kubelet-never-ready" | "pdb-blocks";
export type NodeRole = "control-plane" | "worker";
export type IntOrString = number | string;

export interface ObjectMeta {
  readonly uid: string;
  readonly name: string;
  readonly namespace?: string;
  readonly creationTimestamp: string;
  resourceVersion: string;
  generation?: number;
  labels: Labels;
  annotations: Labels;
}

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  readonly timeAdded?: string;
}

/** A condition as the Node's Ready condition keeps it. */
export interface ConditionState {
  status: ConditionStatus;
  reason: string;
  message: string;
  /** lastTransitionTime: changes only when status changes. */
  since: string;
}

export interface NodeRecord {
  readonly meta: ObjectMeta;
  readonly role: NodeRole;
  /** Position in the fleet's node list; picks the node's pod CIDR. */
  readonly index: number;
  /** status.addresses InternalIP (data only; the simulator never connects to it). */
  readonly address: string;
  unschedulable: boolean;
  cordonedAt?: string;
  /** Taints set through the API (the lifecycle taints are derived, not stored). */
  userTaints: Taint[];
  kubelet: KubeletState;
  /** When a starting kubelet reports Ready (ms since epoch). */
  readyDueAt?: number;
  bootId: string;
  ready: ConditionState;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
}

/** The part of a pod template the simulator cares about. */
export interface PodTemplate {
  readonly labels: Labels;
  readonly containers: readonly ContainerSpec[];
  /** Names of emptyDir volumes (kubectl drain needs --delete-emptydir-data for these). */
  readonly emptyDirs: readonly string[];
  readonly hostNetwork: boolean;
  readonly nodeSelector?: Labels;
  /** DaemonSet pods tolerate the unschedulable and lifecycle taints. */
  readonly daemon: boolean;
  readonly priorityClassName?: string;
}

export interface OwnerRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

export interface PodDeletion {
  /** metadata.deletionTimestamp: when the grace period runs out. */
  readonly timestamp: string;
  readonly graceSeconds: number;
  /** When the kubelet has stopped the containers (ms since epoch); needs the host up. */
  readonly goneAfter: number;
}

export interface PodRecord {
  readonly meta: ObjectMeta;
  readonly nodeName: string;
  readonly owner?: OwnerRef;
  /** Key of the owning workload in ClusterState.workloads. */
  readonly workload?: string;
  readonly ordinal?: number;
  readonly mirror: boolean;
  readonly template: PodTemplate;
  readonly podIP: string;
  readonly startTime: string;
  ready: boolean;
  readySince: string;
  /** When a not-ready pod on a Ready node passes its readiness probe (ms since epoch). */
  readyDueAt?: number;
  restartCount: number;
  /** When the containers last (re)started. */
  containersStarted: string;
  /** The node boot the containers were started under; a new boot restarts them. */
  bootId: string;
  deletion?: PodDeletion;
}

/** A workload condition (Deployment Available/Progressing). */
export interface WorkloadCondition {
  status: ConditionStatus;
  reason: string;
  message: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
}

export interface WorkloadRecord {
  readonly kind: WorkloadKind;
  readonly meta: ObjectMeta;
  readonly replicas: number;
  readonly selector: Labels;
  readonly template: PodTemplate;
  /** pod-template-hash (Deployment) or the revision suffix (StatefulSet, DaemonSet). */
  readonly hash: string;
  /** The Deployment's one ReplicaSet. */
  readonly replicaSet?: ObjectMeta;
  /** Deployment: when each missing replica gets replaced (ms since epoch). */
  replacementsDue: number[];
  /** StatefulSet ordinal or DaemonSet node → since when it has had no pod. */
  readonly missingSince: Map<string, number>;
  readonly conditions: Map<string, WorkloadCondition>;
  /** Last status the controller wrote; compared to bump resourceVersion only on change. */
  status?: Record<string, unknown>;
}

export interface PdbRecord {
  readonly meta: ObjectMeta;
  readonly selector: Labels;
  readonly minAvailable?: IntOrString;
  readonly maxUnavailable?: IntOrString;
  status?: Record<string, unknown>;
  allowedSince?: { allowed: boolean; since: string };
}

/** Kubernetes timestamps have whole seconds. */
export function kubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Key of a namespaced object in the state's maps. */
export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Key of a workload in ClusterState.workloads. */
export function workloadKey(kind: WorkloadKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** The alphabet Kubernetes uses for generated name suffixes (no vowels, no 0/1/3). */
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** Every object of the simulated cluster, with the counters that keep them consistent. */
export class ClusterState {
  readonly nodes = new Map<string, NodeRecord>();
  readonly pods = new Map<string, PodRecord>();
  readonly workloads = new Map<string, WorkloadRecord>();
  readonly pdbs = new Map<string, PdbRecord>();
  /** coordination.k8s.io Leases by "namespace/name". */
  readonly leases = new Map<string, LeaseRecord>();
  readonly namespaces: ObjectMeta[] = [];
  /** Faults per node name; they outlive a deleted and re-registered Node. */
  readonly faults = new Map<string, Set<KubeFault>>();
  private resourceVersion = 1000;
  private nameCounter = 0;
  private ipCounter = 0;

  constructor(readonly now: () => number) {}

  /** Gives the object a new resourceVersion, as every write on the real server does. */
  touch(meta: ObjectMeta): void {
    meta.resourceVersion = String(++this.resourceVersion);
  }

  /** The resourceVersion a list reports: the newest of anything. */
  listVersion(): string {
    return String(this.resourceVersion);
  }

  newMeta(name: string, namespace: string | undefined, labels: Labels = {}, annotations: Labels = {}): ObjectMeta {
    const meta: ObjectMeta = {
      uid: randomUUID(),
      name,
      ...(namespace === undefined ? {} : { namespace }),
      creationTimestamp: kubeTime(this.now()),
      resourceVersion: "",
      labels: { ...labels },
      annotations: { ...annotations },
    };
    this.touch(meta);
    return meta;
  }

  /** A generated-name suffix, deterministic for a given sequence of calls. */
  suffix(seed: string, length: number): string {
    const digest = createHash("sha256").update(`${seed}:${++this.nameCounter}`).digest();
    let out = "";
    for (let i = 0; i < length; i++) out += SUFFIX_ALPHABET[digest[i] % SUFFIX_ALPHABET.length];
    return out;
  }

  /** A pod IP inside the node's pod CIDR (data only; nothing listens there). */
  podIP(node: NodeRecord): string {
    this.ipCounter = (this.ipCounter % 250) + 1;
    return `10.244.${node.index}.${this.ipCounter + 1}`;
  }

  hasFault(node: string, fault: KubeFault): boolean {
    return this.faults.get(node)?.has(fault) ?? false;
  }

  podsOnNode(node: string): PodRecord[] {
    return [...this.pods.values()].filter((p) => p.nodeName === node);
  }

  podsOf(workload: string): PodRecord[] {
    return [...this.pods.values()].filter((p) => p.workload === workload);
  }

  /** Ready nodes a new pod of this template may land on. */
  schedulableNodes(template: PodTemplate): NodeRecord[] {
    return [...this.nodes.values()].filter(
      (n) =>
        n.ready.status === "True" &&
        (template.daemon || (!n.unschedulable && !n.userTaints.some((t) => t.effect === "NoSchedule"))) &&
        Object.entries(template.nodeSelector ?? {}).every(([k, v]) => n.meta.labels[k] === v),
    );
  }
}

/** A pod that counts for controllers and budgets: not being deleted. */
export function isActive(pod: PodRecord): boolean {
  return pod.deletion === undefined;
}

/** Ready and not being deleted, as the disruption controller counts health. */
export function isHealthy(pod: PodRecord): boolean {
  return pod.deletion === undefined && pod.ready;
}

/** A matchLabels selector. */
export function matchesLabels(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
