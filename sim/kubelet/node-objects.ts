/**
 * The objects a simulated kubelet writes, as a k3s kubelet writes them: its Node at
 * registration, the Node's status (conditions, addresses, capacity, nodeInfo) and its Lease in
 * kube-node-lease. Pure: the callers send them.
 */
import type { V1Lease, V1Node, V1NodeCondition, V1NodeStatus } from "@kubernetes/client-node";
import { V1MicroTime } from "@kubernetes/client-node";
import type { NodeFacts } from "./host-system";
import { KUBELET_PORT } from "./server";

/** Facts of one kubelet's current run. */
export interface KubeletRun {
  readonly node: string;
  readonly role: "server" | "agent";
  readonly address: string;
  readonly bootId: string;
  readonly facts: NodeFacts;
  /** --node-label flags, applied at registration only (as k3s does). */
  readonly labels: Readonly<Record<string, string>>;
}

/** A Node's status as a kubelet posts it: client-node's type lacks declaredFeatures (Kubernetes 1.35+). */
export type PostedNodeStatus = V1NodeStatus & { readonly declaredFeatures: readonly string[] };

/** Why the Ready condition is what it is. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly message: string };

/** Namespace of node Leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** A kubelet's default lease duration; it renews at a quarter of it, or faster here. */
export const LEASE_DURATION_SECONDS = 40;

/** The labels a kubelet (and k3s) puts on its Node at registration. */
export function registrationLabels(r: KubeletRun): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/os": "linux",
    "kubernetes.io/hostname": r.node,
    ...(r.role === "server" ? { "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true" } : {}),
    ...r.labels,
  };
}

/** The Node a kubelet registers (status follows through the status subresource). */
export function nodeToRegister(r: KubeletRun): V1Node {
  return { apiVersion: "v1", kind: "Node", metadata: { name: r.node, labels: registrationLabels(r) }, spec: {} };
}

/**
 * The Node's status: Ready (with `transition`, the time Ready last changed), the pressure
 * conditions false, the address, room for pods and the booted system's facts.
 */
export function nodeStatus(r: KubeletRun, readiness: Readiness, now: Date, transition: Date): PostedNodeStatus {
  const condition = (type: string, status: string, reason: string, message: string): V1NodeCondition => ({
    type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: transition,
  });
  const capacity = { cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" };
  return {
    conditions: [
      condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
      condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      readiness.ready
        ? condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")
        : condition("Ready", "False", "KubeletNotReady", readiness.message),
    ],
    addresses: [
      { type: "InternalIP", address: r.address },
      { type: "Hostname", address: r.node },
    ],
    capacity,
    allocatable: capacity,
    daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
    // kube-apiserver forwards exec's WebSocket as is to a Node that declares this (kubelet/server.ts speaks it).
    declaredFeatures: ["ExtendWebSocketsToKubelet"],
    nodeInfo: {
      bootID: r.bootId,
      machineID: r.node,
      systemUUID: r.node,
      kernelVersion: r.facts.kernelVersion,
      osImage: r.facts.osImage,
      kubeletVersion: r.facts.kubeletVersion,
      kubeProxyVersion: "",
      containerRuntimeVersion: "containerd://1.7.23-k3s1",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

/** The Node's Lease, held by the node and owned by its Node (so it goes with the Node). */
export function nodeLease(node: string, nodeUid: string, now: Date): V1Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: node,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: node, uid: nodeUid }],
    },
    spec: { holderIdentity: node, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) },
  };
}

/** A MicroTime for client-node (it serializes with microseconds). */
export function microTime(d: Date): V1MicroTime {
  return new V1MicroTime(d.getTime());
}
