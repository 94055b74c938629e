/**
 * The simulated cluster's starting contents, derived only from the node list, and the
 * objects the pdb-blocks fault adds.
 */
import type { WorkloadKind } from "../../lib/cluster/cluster";
import { HOSTNAME_LABEL, SIM_KUBE_DEFAULTS } from "./constants";
import {
  type ClusterState,
  type ContainerSpec,
  type IntOrString,
  type Labels,
  type NodeRecord,
  type NodeRole,
  type PodTemplate,
  type WorkloadRecord,
  kubeTime,
  podKey,
  workloadKey,
} from "./model";
import { beginPodDeletion, createMirrorPod, createWorkloadPod } from "./pods";

/** Registers a Node whose kubelet has not reported yet (Ready Unknown). */
export function registerNode(state: ClusterState, name: string, role: NodeRole, index: number, address?: string): NodeRecord {
  const labels: Labels = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    [HOSTNAME_LABEL]: name,
    "kubernetes.io/os": "linux",
    ...(role === "control-plane" ? { "node-role.kubernetes.io/control-plane": "" } : {}),
  };
  const node: NodeRecord = {
    meta: state.newMeta(name, undefined, labels, {
      "node.alpha.kubernetes.io/ttl": "0",
      "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    }),
    role,
    index,
    address: address ?? `10.90.0.${10 + index}`,
    unschedulable: false,
    userTaints: [],
    kubelet: "down",
    bootId: "",
    ready: {
      status: "Unknown",
      reason: "NodeStatusNeverUpdated",
      message: "Kubelet never posted node status.",
      since: kubeTime(state.now()),
    },
  };
  state.nodes.set(name, node);
  return node;
}

interface WorkloadDef {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  readonly labels: Labels;
  readonly containers: readonly ContainerSpec[];
  readonly emptyDirs?: readonly string[];
  readonly hostNetwork?: boolean;
  readonly nodeSelector?: Labels;
  readonly priorityClassName?: string;
}

/** Adds a workload (and a Deployment's ReplicaSet) without pods. */
export function addWorkload(state: ClusterState, def: WorkloadDef): WorkloadRecord {
  const template: PodTemplate = {
    labels: def.labels,
    containers: def.containers,
    emptyDirs: def.emptyDirs ?? [],
    hostNetwork: def.hostNetwork ?? false,
    daemon: def.kind === "DaemonSet",
    ...(def.nodeSelector === undefined ? {} : { nodeSelector: def.nodeSelector }),
    ...(def.priorityClassName === undefined ? {} : { priorityClassName: def.priorityClassName }),
  };
  const annotations: Labels = def.kind === "Deployment" ? { "deployment.kubernetes.io/revision": "1" } : {};
  const meta = state.newMeta(def.name, def.namespace, def.labels, annotations);
  meta.generation = 1;
  const hash = state.suffix(`${def.kind}/${def.name}`, 10);
  const w: WorkloadRecord = {
    kind: def.kind,
    meta,
    replicas: def.kind === "DaemonSet" ? 0 : def.replicas,
    selector: def.labels,
    template,
    hash,
    ...(def.kind === "Deployment"
      ? { replicaSet: state.newMeta(`${def.name}-${hash}`, def.namespace, { ...def.labels, "pod-template-hash": hash }, annotations) }
      : {}),
    replacementsDue: [],
    missingSince: new Map(),
    conditions: new Map(),
  };
  state.workloads.set(workloadKey(def.kind, def.namespace, def.name), w);
  return w;
}

/** Adds a PodDisruptionBudget with one of minAvailable or maxUnavailable. */
export function addPdb(
  state: ClusterState,
  namespace: string,
  name: string,
  selector: Labels,
  budget: { readonly minAvailable: IntOrString } | { readonly maxUnavailable: IntOrString },
): void {
  const meta = state.newMeta(name, namespace);
  meta.generation = 1;
  state.pdbs.set(podKey(namespace, name), { meta, selector, ...budget });
}

const NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system"];

const img = (name: string, image: string): ContainerSpec[] => [{ name, image }];

const WORKLOADS: readonly WorkloadDef[] = [
  { kind: "DaemonSet", namespace: "kube-system", name: "kube-proxy", replicas: 0, labels: { "k8s-app": "kube-proxy" },
    containers: img("kube-proxy", "registry.k8s.io/kube-proxy:v1.32.4"), hostNetwork: true, priorityClassName: "system-node-critical" },
  { kind: "DaemonSet", namespace: "kube-system", name: "flannel", replicas: 0, labels: { app: "flannel", tier: "node" },
    containers: img("kube-flannel", "ghcr.io/flannel-io/flannel:v0.26.1"), hostNetwork: true, priorityClassName: "system-node-critical" },
  { kind: "Deployment", namespace: "kube-system", name: "coredns", replicas: 2, labels: { "k8s-app": "kube-dns" },
    containers: img("coredns", "registry.k8s.io/coredns/coredns:v1.11.3"), priorityClassName: "system-cluster-critical" },
  { kind: "Deployment", namespace: "kube-system", name: "metrics-server", replicas: 1, labels: { "k8s-app": "metrics-server" },
    containers: img("metrics-server", "registry.k8s.io/metrics-server/metrics-server:v0.7.2"), emptyDirs: ["tmp-dir"],
    priorityClassName: "system-cluster-critical" },
  { kind: "Deployment", namespace: "default", name: "web", replicas: 3, labels: { app: "web" },
    containers: img("nginx", "nginx:1.27"), emptyDirs: ["cache"] },
  { kind: "StatefulSet", namespace: "default", name: "db", replicas: 2, labels: { app: "db" },
    containers: img("postgres", "postgres:16") },
];

/**
 * Fills a fresh state: namespaces, the Nodes in list order, the system and demo workloads
 * with their pods spread round-robin, the web PDB and the control planes' mirror pods.
 */
export function seedCluster(state: ClusterState, nodes: readonly { readonly name: string; readonly role: NodeRole; readonly address?: string }[]): void {
  for (const ns of NAMESPACES) {
    state.namespaces.push(state.newMeta(ns, undefined, { "kubernetes.io/metadata.name": ns }));
  }
  const records = nodes.map((n, i) => registerNode(state, n.name, n.role, i, n.address));
  let next = 0;
  for (const def of WORKLOADS) {
    const w = addWorkload(state, def);
    const key = workloadKey(def.kind, def.namespace, def.name);
    if (def.kind === "DaemonSet") {
      for (const node of records) createWorkloadPod(state, key, w, node);
    } else if (records.length > 0) {
      for (let i = 0; i < def.replicas; i++) {
        const node = records[next++ % records.length];
        createWorkloadPod(state, key, w, node, def.kind === "StatefulSet" ? i : undefined);
      }
    }
  }
  addPdb(state, "default", "web", { app: "web" }, { minAvailable: 2 });
  for (const node of records) if (node.role === "control-plane") createMirrorPod(state, node);
}

/** Name of the Deployment and PDB the pdb-blocks fault adds for `node`. */
export function pinnedName(node: string): string {
  return `pinned-${node}`;
}

/** pdb-blocks on: a one-replica Deployment pinned to the node, guarded by maxUnavailable 0. */
export function addPinnedWorkload(state: ClusterState, node: NodeRecord): void {
  const name = pinnedName(node.meta.name);
  const key = workloadKey("Deployment", "default", name);
  if (state.workloads.has(key)) return;
  const w = addWorkload(state, {
    kind: "Deployment", namespace: "default", name, replicas: 1, labels: { app: name },
    containers: img("app", "busybox:1.36"), nodeSelector: { [HOSTNAME_LABEL]: node.meta.name },
  });
  createWorkloadPod(state, key, w, node);
  addPdb(state, "default", name, { app: name }, { maxUnavailable: 0 });
}

/** pdb-blocks off: the budget and the Deployment go; its pod terminates. */
export function removePinnedWorkload(state: ClusterState, node: string, terminationMs: number): void {
  const name = pinnedName(node);
  const key = workloadKey("Deployment", "default", name);
  state.pdbs.delete(podKey("default", name));
  if (!state.workloads.delete(key)) return;
  for (const pod of state.podsOf(key)) beginPodDeletion(state, pod, SIM_KUBE_DEFAULTS.terminationGracePeriodSeconds, terminationMs);
}
