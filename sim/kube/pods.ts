/**
 * Creating and deleting pods the way the controllers and the kubelet do: a new pod on a Ready
 * node starts Ready; a deleted pod is marked with a deletionTimestamp and disappears once its
 * kubelet has stopped it.
 */
import { MIRROR_ANNOTATION } from "./constants";
import {
  type ClusterState,
  type NodeRecord,
  type OwnerRef,
  type PodRecord,
  type PodTemplate,
  type WorkloadRecord,
  kubeTime,
  podKey,
} from "./model";

/** The controller reference a workload's pods carry. */
export function ownerOf(w: WorkloadRecord): OwnerRef {
  if (w.kind === "Deployment" && w.replicaSet !== undefined) {
    return { apiVersion: "apps/v1", kind: "ReplicaSet", name: w.replicaSet.name, uid: w.replicaSet.uid };
  }
  return { apiVersion: "apps/v1", kind: w.kind, name: w.meta.name, uid: w.meta.uid };
}

/** Labels the controllers add to the template's own. */
function controllerLabels(w: WorkloadRecord, ordinal: number | undefined, podName: string): Record<string, string> {
  switch (w.kind) {
    case "Deployment":
      return { "pod-template-hash": w.hash };
    case "DaemonSet":
      return { "controller-revision-hash": w.hash, "pod-template-generation": String(w.meta.generation ?? 1) };
    case "StatefulSet":
      return {
        "controller-revision-hash": `${w.meta.name}-${w.hash}`,
        "statefulset.kubernetes.io/pod-name": podName,
        "apps.kubernetes.io/pod-index": String(ordinal ?? 0),
      };
  }
}

function podName(state: ClusterState, w: WorkloadRecord, ordinal: number | undefined): string {
  switch (w.kind) {
    case "Deployment":
      return `${w.meta.name}-${w.hash}-${state.suffix(w.meta.name, 5)}`;
    case "DaemonSet":
      return `${w.meta.name}-${state.suffix(w.meta.name, 5)}`;
    case "StatefulSet":
      return `${w.meta.name}-${ordinal ?? 0}`;
  }
}

interface NewPod {
  readonly name: string;
  readonly namespace: string;
  readonly node: NodeRecord;
  readonly template: PodTemplate;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly owner?: OwnerRef;
  readonly workload?: string;
  readonly ordinal?: number;
  readonly mirror?: boolean;
}

function addPod(state: ClusterState, p: NewPod): PodRecord {
  const now = state.now();
  const ready = p.node.ready.status === "True";
  const pod: PodRecord = {
    meta: state.newMeta(p.name, p.namespace, p.labels, p.annotations),
    nodeName: p.node.meta.name,
    ...(p.owner === undefined ? {} : { owner: p.owner }),
    ...(p.workload === undefined ? {} : { workload: p.workload }),
    ...(p.ordinal === undefined ? {} : { ordinal: p.ordinal }),
    mirror: p.mirror ?? false,
    template: p.template,
    podIP: p.template.hostNetwork ? nodeIP(p.node) : state.podIP(p.node),
    startTime: kubeTime(now),
    ready,
    readySince: kubeTime(now),
    restartCount: 0,
    containersStarted: kubeTime(now),
    bootId: p.node.bootId,
  };
  state.pods.set(podKey(p.namespace, p.name), pod);
  return pod;
}

/** A controller's new pod for workload `w` bound to `node`. */
export function createWorkloadPod(state: ClusterState, key: string, w: WorkloadRecord, node: NodeRecord, ordinal?: number): PodRecord {
  const name = podName(state, w, ordinal);
  return addPod(state, {
    name,
    namespace: w.meta.namespace ?? "default",
    node,
    template: w.template,
    labels: { ...w.template.labels, ...controllerLabels(w, ordinal, name) },
    owner: ownerOf(w),
    workload: key,
    ...(ordinal === undefined ? {} : { ordinal }),
  });
}

/**
 * A pod created directly through the API (`kubectl run`, a debug pod) and already bound to
 * `node`: no controller owns it, so nothing recreates it once it is deleted.
 */
export function createBarePod(state: ClusterState, namespace: string, name: string, node: NodeRecord, template: PodTemplate): PodRecord {
  return addPod(state, { name, namespace, node, template, labels: { ...template.labels } });
}

const APISERVER_TEMPLATE: PodTemplate = {
  labels: { component: "kube-apiserver", tier: "control-plane" },
  containers: [{ name: "kube-apiserver", image: "registry.k8s.io/kube-apiserver:v1.32.4" }],
  emptyDirs: [],
  hostNetwork: true,
  daemon: true,
  priorityClassName: "system-node-critical",
};

/** The mirror pod the kubelet of a control-plane node publishes for its static kube-apiserver. */
export function createMirrorPod(state: ClusterState, node: NodeRecord): PodRecord {
  const hash = state.suffix(`apiserver-${node.meta.name}`, 32);
  return addPod(state, {
    name: `kube-apiserver-${node.meta.name}`,
    namespace: "kube-system",
    node,
    template: APISERVER_TEMPLATE,
    labels: APISERVER_TEMPLATE.labels,
    annotations: {
      [MIRROR_ANNOTATION]: hash,
      "kubernetes.io/config.hash": hash,
      "kubernetes.io/config.source": "file",
    },
    owner: { apiVersion: "v1", kind: "Node", name: node.meta.name, uid: node.meta.uid },
    mirror: true,
  });
}

/**
 * Starts a graceful deletion: the pod stops being Ready and counted, and goes away
 * `terminationMs` later provided its kubelet is running (see the controllers).
 */
export function beginPodDeletion(state: ClusterState, pod: PodRecord, graceSeconds: number, terminationMs: number): void {
  if (pod.deletion !== undefined) return;
  const now = state.now();
  pod.deletion = {
    timestamp: kubeTime(now + graceSeconds * 1000),
    graceSeconds,
    goneAfter: now + (graceSeconds === 0 ? 0 : Math.min(terminationMs, graceSeconds * 1000)),
  };
  setPodReady(state, pod, false);
  state.touch(pod.meta);
}

/** Removes the pod object at once (grace period 0, or the pod garbage collector). */
export function removePod(state: ClusterState, pod: PodRecord): void {
  state.pods.delete(podKey(pod.meta.namespace ?? "default", pod.meta.name));
}

/** Sets the Ready condition, moving lastTransitionTime only on a change. */
export function setPodReady(state: ClusterState, pod: PodRecord, ready: boolean): void {
  pod.readyDueAt = undefined;
  if (pod.ready === ready) return;
  pod.ready = ready;
  pod.readySince = kubeTime(state.now());
  state.touch(pod.meta);
}

/** The address a host-network pod reports: the node's own. */
export function nodeIP(node: NodeRecord): string {
  return node.address;
}
