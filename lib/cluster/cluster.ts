/**
 * The one interface the rollout uses to talk to Kubernetes. Production code gets a
 * @kubernetes/client-node implementation (lib/cluster/kube.ts); unit tests get a fake.
 */

/** The parts of a Node the rollout reads. */
export interface NodeState {
  readonly name: string;
  /** The Ready condition is "True". */
  readonly ready: boolean;
  /** status.nodeInfo.bootID as the kubelet last reported it. */
  readonly bootId: string;
  readonly unschedulable: boolean;
  /** metadata.annotations (the rollout records its own cordons there). */
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * How a pod is owned, which decides what a drain does with it: the API mirror of a static pod,
 * a pod whose controller (ownerReference with controller: true) is a DaemonSet, one with any
 * other controller, or one that declares no controller at all.
 */
export type PodOwner = "mirror" | "daemonset" | "controller" | "none";

/** status.phase of a pod; Succeeded and Failed pods have finished. */
export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

/** Whether a pod has finished: its containers will not run again. */
export function isFinished(phase: PodPhase): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

/** Names one pod; the uid tells it apart from a successor of the same name. */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** A pod bound to a node, with what a drain needs to judge it. */
export interface PodOnNode extends PodRef {
  readonly owner: PodOwner;
  /** The DaemonSet, StatefulSet or Deployment it belongs to (kubeObjects.ts podWorkload). */
  readonly workload?: { readonly kind: WorkloadKind; readonly name: string };
  /** Names of its emptyDir volumes (local data lost when the pod goes). */
  readonly emptyDirs: readonly string[];
  readonly phase: PodPhase;
}

/** The answer of the Eviction API for one pod. */
export type EvictionResult =
  /** Accepted (201/200): the pod is being deleted. */
  | { readonly kind: "evicted" }
  /** 429: a PodDisruptionBudget forbids it now; retry later. `budget` names it when the server said which. */
  | { readonly kind: "blocked"; readonly message: string; readonly budget?: string }
  /** 404: the pod is already gone. */
  | { readonly kind: "gone" };

/** The kinds of workload the health gates judge. */
export type WorkloadKind = "Deployment" | "DaemonSet" | "StatefulSet";

/** A workload's health as `kubectl rollout status` would judge it. */
export interface WorkloadHealth {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly healthy: boolean;
  /** Why it is not healthy yet, in kubectl's words where it has them. */
  readonly reason: string;
  /** Complete but for this many pods that are not available (rolloutStatus.ts). */
  readonly unavailablePods?: number;
}

/** spec of a coordination.k8s.io/v1 Lease; times are RFC 3339 with microseconds. */
export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

/** A Lease as read, with the resourceVersion an update must name. */
export interface LeaseState {
  readonly spec: LeaseSpec;
  readonly resourceVersion: string;
}

/** A Lease with its name, as a list answers it. */
export interface NamedLease extends LeaseState {
  readonly name: string;
}

/** The answer to a create or an update of a Lease. */
export type LeaseWrite =
  | { readonly kind: "written"; readonly lease: LeaseState }
  /** 409: someone else created or changed it first; read it again. */
  | { readonly kind: "conflict" };

/** Kubernetes as the rollout sees it. Every method is one API round trip or a few. */
export interface Cluster {
  getNode(name: string): Promise<NodeState | undefined>;
  listNodes(): Promise<NodeState[]>;
  /**
   * Cordon (true) or uncordon (false) a node. `annotations` are set in the same patch (null
   * removes one), so a record of who cordoned the node never exists without the cordon.
   */
  setUnschedulable(name: string, unschedulable: boolean, annotations?: Readonly<Record<string, string | null>>): Promise<void>;
  /** Every pod bound to `node` (fieldSelector spec.nodeName). */
  listPodsOnNode(node: string): Promise<PodOnNode[]>;
  /** POST the policy/v1 Eviction subresource for one pod. */
  evictPod(pod: PodRef): Promise<EvictionResult>;
  /**
   * status.disruptionsAllowed of a PodDisruptionBudget, as its controller last computed it;
   * Infinity when the budget is gone (it limits nothing any more); undefined when the
   * credentials may not read budgets.
   */
  disruptionsAllowed(namespace: string, budget: string): Promise<number | undefined>;
  /** True while a pod with this namespace, name and uid still exists. */
  podExists(pod: PodRef): Promise<boolean>;
  /** Deployments, DaemonSets and StatefulSets in one namespace with their health. */
  listWorkloads(namespace: string): Promise<WorkloadHealth[]>;
  /** Deletes the Node object (host removed from the fleet). Missing is not an error. */
  deleteNode(name: string): Promise<void>;
  /** One annotation of a Node; undefined when the Node or the annotation is absent. */
  getNodeAnnotation(name: string, key: string): Promise<string | undefined>;
  /** Sets (a string) or removes (null) one annotation of a Node. */
  setNodeAnnotation(name: string, key: string, value: string | null): Promise<void>;
  /** Every Lease of a namespace, read at one moment (one list). */
  listLeases(namespace: string): Promise<NamedLease[]>;
  /** Reads a Lease; undefined when there is none. */
  getLease(namespace: string, name: string): Promise<LeaseState | undefined>;
  /** Creates a Lease; "conflict" when it exists already. */
  createLease(namespace: string, name: string, spec: LeaseSpec): Promise<LeaseWrite>;
  /** Replaces a Lease's spec if it is still at `resourceVersion`; "conflict" when it changed. */
  updateLease(namespace: string, name: string, resourceVersion: string, spec: LeaseSpec): Promise<LeaseWrite>;
}

/**
 * Annotation naming the inventory host whose rollout manages a Node. A host renamed in the
 * inventory keeps its Node: the new resource writes its name here before the old one is
 * deleted, and the old one's delete then leaves the Node alone.
 */
export const NODE_OWNER_ANNOTATION = "nixos-fleet.dev/host";
