/**
 * Fixed facts the simulated API server reports, and its defaults, in one place.
 */

/** The Kubernetes release the simulator impersonates (kubectl 1.32 is within skew). */
export const KUBE_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.4" } as const;

/** What every simulated kubelet reports in status.nodeInfo. */
export const NODE_INFO = {
  kernelVersion: "6.6.63",
  osImage: "NixOS 24.11 (Vicuna)",
  containerRuntimeVersion: "containerd://1.7.23",
  operatingSystem: "linux",
  architecture: "amd64",
} as const;

/** Defaults of SimKubeOptions and of the simulated controllers. */
export const SIM_KUBE_DEFAULTS = {
  listenHost: "127.0.0.1",
  /** How often the controllers run; every simulated delay is a multiple of this at worst. */
  tickMs: 50,
  /** Pods' spec.terminationGracePeriodSeconds, as the API server defaults it. */
  terminationGracePeriodSeconds: 30,
  /** Largest request body accepted (the real server allows 3 MiB). */
  maxBodyBytes: 3 * 1024 * 1024,
  /** Requests kept for snapshot() (debugging what a client asked for). */
  requestLogSize: 200,
} as const;

/** Annotation the kubelet puts on the mirror pod of a static pod. */
export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/** Label the kubelet sets on its Node and that node-pinned workloads select on. */
export const HOSTNAME_LABEL = "kubernetes.io/hostname";

/** Taint keys the node lifecycle controller manages. */
export const TAINTS = {
  unschedulable: "node.kubernetes.io/unschedulable",
  notReady: "node.kubernetes.io/not-ready",
  unreachable: "node.kubernetes.io/unreachable",
} as const;
