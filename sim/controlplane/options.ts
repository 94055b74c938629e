/**
 * What a control plane is started with, and the one place for its defaults. The node-lifecycle
 * timings default to kube-controller-manager's own; tests shorten them only through the same
 * flags a real cluster operator would use.
 */
import type { ProcRef } from "../proc";
import type { ControlPlaneBinaries } from "./binaries";

/** The processes of a control plane, in start order. */
export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

/** One process of the control plane. */
export type Component = (typeof COMPONENTS)[number];

/**
 * The stages of stop(), each stopped together: clients first, the store last. kube-apiserver
 * exits in about a second while etcd runs, but hangs in its shutdown when etcd goes away under it.
 */
export const STOP_ORDER: ReadonlyArray<readonly Component[]> = [["kube-scheduler", "kube-controller-manager"], ["kube-apiserver"], ["etcd"]];

/** True for the names in COMPONENTS. */
export function isComponent(name: string): name is Component {
  return (COMPONENTS as readonly string[]).includes(name);
}

/** How to start a control plane; see CONTROL_PLANE_DEFAULTS for what is left out. */
export interface ControlPlaneOptions {
  /**
   * Etcd data, certificates, component kubeconfigs and logs live here (created when missing).
   * A folder from an earlier start is reused: the cluster's objects, the CA and the
   * service-account key stay; the leaf certificates are issued anew.
   */
  readonly dataDir: string;
  /** Where the admin kubeconfig is written (mode 0600). */
  readonly kubeconfigPath: string;
  /** More addresses (IPs or DNS names) the API server's certificate is valid for, besides 127.0.0.1. */
  readonly extraSans?: readonly string[];
  /** The programs to run; by default those scripts/install-kube.sh built. */
  readonly binaries?: ControlPlaneBinaries;
  /** kube-controller-manager --node-monitor-grace-period: how long a Node may go without a Lease renewal before it is Unknown. */
  readonly nodeMonitorGracePeriodSeconds?: number;
  /** kube-controller-manager --node-monitor-period: how often the node lifecycle controller checks. */
  readonly nodeMonitorPeriodSeconds?: number;
  /**
   * When set, kube-apiserver writes an audit log here (JSON lines) with the policy of
   * AUDIT_POLICY: evictions with their answer, and changes to Nodes with the resulting Node.
   */
  readonly auditLogPath?: string;
  /** Deadline for the whole start, until the cluster is usable. */
  readonly startTimeoutMs?: number;
  /** Deadline for stop() to see every process gone. */
  readonly stopTimeoutMs?: number;
  /** Called with each process as soon as it runs, so a caller can record it for crash recovery. */
  readonly onProcess?: (ref: ProcRef, component: Component) => void;
  /** Progress lines (start, ready, stop). */
  readonly log?: (line: string) => void;
}

/** Defaults of ControlPlaneOptions and fixed facts of the cluster. */
export const CONTROL_PLANE_DEFAULTS = {
  /** kube-controller-manager's own default (50s). */
  nodeMonitorGracePeriodSeconds: 50,
  /** kube-controller-manager's own default (5s). */
  nodeMonitorPeriodSeconds: 5,
  /** A cold start on a busy 2-core machine; usually it takes well under 20 s. */
  startTimeoutMs: 120_000,
  stopTimeoutMs: 20_000,
  /** How long a process may take to exit after SIGTERM before its process group gets SIGKILL. */
  termGraceMs: 5_000,
  /** Interval of readiness polls. */
  pollMs: 250,
  /** Deadline of one readiness request. */
  probeTimeoutMs: 5_000,
  /** Service addresses are data only here (no kube-proxy); the range kubeadm uses. */
  serviceClusterIpRange: "10.96.0.0/12",
  /** The first address of that range, the `kubernetes` Service's. */
  kubernetesServiceIp: "10.96.0.1",
  listenAddress: "127.0.0.1",
  /** Names in the admin kubeconfig: the same the simulated API server wrote, so callers need no change. */
  clusterName: "nixos-fleet-sim",
  adminUser: "fleet-admin",
  /** Lines of a component's log quoted in an error. */
  logTailLines: 15,
} as const;

/** The node-lifecycle flags of kube-controller-manager, checked. */
export interface NodeLifecycle {
  readonly gracePeriodSeconds: number;
  readonly periodSeconds: number;
}

/** The options' node-lifecycle timings with defaults; throws naming the option when they make no sense. */
export function nodeLifecycleOf(o: Pick<ControlPlaneOptions, "nodeMonitorGracePeriodSeconds" | "nodeMonitorPeriodSeconds">): NodeLifecycle {
  const grace = o.nodeMonitorGracePeriodSeconds ?? CONTROL_PLANE_DEFAULTS.nodeMonitorGracePeriodSeconds;
  const period = o.nodeMonitorPeriodSeconds ?? CONTROL_PLANE_DEFAULTS.nodeMonitorPeriodSeconds;
  for (const [name, v] of [["nodeMonitorGracePeriodSeconds", grace], ["nodeMonitorPeriodSeconds", period]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`control plane option ${name} must be a whole number of seconds >= 1, not ${v}`);
  }
  if (grace <= period) {
    throw new Error(
      `control plane option nodeMonitorGracePeriodSeconds (${grace}) must be longer than nodeMonitorPeriodSeconds (${period}): ` +
        "a Node would be judged before a single check could see its Lease",
    );
  }
  return { gracePeriodSeconds: grace, periodSeconds: period };
}

/**
 * The audit policy used with auditLogPath: what a drain and an operator do to Nodes and pods,
 * at the level that shows the outcome. Evictions at Metadata (the response code tells evicted
 * from refused); creates, updates, patches and deletes of Nodes at RequestResponse (the Node
 * afterwards shows whether it is cordoned). Status updates by kubelets are subresources
 * (nodes/status) and are not logged; nothing else is.
 */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: Metadata
    verbs: ["create"]
    resources:
      - group: ""
        resources: ["pods/eviction"]
  - level: RequestResponse
    verbs: ["create", "update", "patch", "delete"]
    resources:
      - group: ""
        resources: ["nodes"]
  - level: None
`;
