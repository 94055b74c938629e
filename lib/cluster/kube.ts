/**
 * The Cluster interface on @kubernetes/client-node: one or a few API round trips per method,
 * each with a deadline, failures turned into KubeApiError (operation, HTTP status, server
 * message). Workload health is judged by rolloutStatus.ts the way `kubectl rollout status` does.
 */
import {
  AppsV1Api,
  CoordinationV1Api,
  type V1Lease,
  V1MicroTime,
  CoreV1Api,
  KubeConfig,
  Observable,
  PolicyV1Api,
  PatchStrategy,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
  type ObservableMiddleware,
} from "@kubernetes/client-node";
import { type Cluster, type EvictionResult, type LeaseSpec, type LeaseState, type LeaseWrite, type NamedLease, type NodeState, type PodOnNode, type PodRef, type WorkloadHealth } from "./cluster";
import { KubeApiError, httpStatus, statusOf, toKubeApiError } from "./kubeErrors";
import { budgetOf, nodeState, podOnNode } from "./kubeObjects";
import { rolloutStatus } from "./rolloutStatus";

/** Defaults of kubeCluster(). */
export const KUBE_CLIENT_DEFAULTS = {
  /** Deadline of one API request. */
  requestTimeoutMs: 30_000,
} as const;

/** Tuning of kubeCluster(); defaults in KUBE_CLIENT_DEFAULTS. */
export interface KubeClusterOptions {
  readonly requestTimeoutMs?: number;
}

/** Per-request middleware: a deadline, and optionally a Content-Type (for PATCH). */
function requestOptions(timeoutMs: number, contentType?: string): ConfigurationOptions<ObservableMiddleware> {
  const mw: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(AbortSignal.timeout(timeoutMs));
      if (contentType !== undefined) ctx.setHeaderParam("Content-Type", contentType);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [mw], middlewareMergeStrategy: "append" };
}

/** Builds a Cluster from kubeconfig text (current context). */
export function kubeCluster(kubeconfigYaml: string, options: KubeClusterOptions = {}): Cluster {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(kubeconfigYaml);
  } catch (e) {
    throw new Error(`the kubeconfig could not be read: ${(e as Error).message}. Pass the kubeconfig file's YAML text.`);
  }
  const current = kc.getCurrentCluster();
  if (current === null) {
    throw new Error(`the kubeconfig has no cluster for its current context (${JSON.stringify(kc.getCurrentContext())}); set current-context.`);
  }
  const server = current.server;
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const policy = kc.makeApiClient(PolicyV1Api);
  const timeoutMs = options.requestTimeoutMs ?? KUBE_CLIENT_DEFAULTS.requestTimeoutMs;
  const opts = requestOptions(timeoutMs);

  /** Runs one call; `onStatus` may turn some HTTP statuses into a value instead of an error. */
  async function call<T>(operation: string, fn: () => Promise<T>, onStatus?: (status: number, e: unknown) => T | undefined): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const status = httpStatus(e);
      if (status !== undefined && onStatus !== undefined) {
        const v = onStatus(status, e);
        if (v !== undefined) return v;
      }
      throw failure(operation, e);
    }
  }

  function failure(operation: string, e: unknown): KubeApiError {
    if ((e as { name?: unknown } | null)?.name === "AbortError") {
      return new KubeApiError(operation, undefined, "Timeout", `no answer within ${timeoutMs} ms`, server, e);
    }
    return toKubeApiError(operation, server, e);
  }

  const absent = <T>(value: T) => (status: number): T | undefined => (status === 404 ? value : undefined);

  async function podExists(pod: PodRef): Promise<boolean> {
    const found = await call(
      `get pod ${pod.namespace}/${pod.name}`,
      () => core.readNamespacedPod({ name: pod.name, namespace: pod.namespace }, opts),
      absent(null),
    );
    return found !== null && found.metadata?.uid === pod.uid;
  }

  return {
    async getNode(name: string): Promise<NodeState | undefined> {
      const n = await call(`get node ${name}`, () => core.readNode({ name }, opts), absent(null));
      return n === null ? undefined : nodeState(n);
    },

    async listNodes(): Promise<NodeState[]> {
      const list = await call("list nodes", () => core.listNode({}, opts));
      return list.items.map(nodeState);
    },

    async setUnschedulable(name: string, unschedulable: boolean, annotations?: Readonly<Record<string, string | null>>): Promise<void> {
      // null removes the field, which is how kubectl uncordon leaves a node.
      const spec = { unschedulable: unschedulable ? true : null };
      const body = annotations === undefined || Object.keys(annotations).length === 0 ? { spec } : { metadata: { annotations }, spec };
      await call(`${unschedulable ? "cordon" : "uncordon"} node ${name}`, () =>
        core.patchNode({ name, body }, requestOptions(timeoutMs, PatchStrategy.MergePatch)),
      );
    },

    async listPodsOnNode(node: string): Promise<PodOnNode[]> {
      const list = await call(`list pods on node ${node}`, () =>
        core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }, opts),
      );
      return list.items.map(podOnNode);
    },

    async evictPod(pod: PodRef): Promise<EvictionResult> {
      const operation = `evict pod ${pod.namespace}/${pod.name}`;
      try {
        await core.createNamespacedPodEviction(
          {
            name: pod.name,
            namespace: pod.namespace,
            body: {
              apiVersion: "policy/v1",
              kind: "Eviction",
              metadata: { name: pod.name, namespace: pod.namespace },
              // Never evict a same-named successor (a StatefulSet pod recreated meanwhile).
              deleteOptions: { preconditions: { uid: pod.uid } },
            },
          },
          opts,
        );
        return { kind: "evicted" };
      } catch (e) {
        const status = httpStatus(e);
        if (status === 404) return { kind: "gone" };
        if (status === 429) {
          const budget = budgetOf(statusOf(e).causes ?? []);
          return { kind: "blocked", message: describe(e), ...(budget === undefined ? {} : { budget }) };
        }
        if (status === 409) {
          // The UID precondition failed (a successor) or a budget update raced: tell them apart.
          return (await podExists(pod)) ? { kind: "blocked", message: describe(e) } : { kind: "gone" };
        }
        throw failure(operation, e);
      }
    },

    async disruptionsAllowed(namespace: string, budget: string): Promise<number | undefined> {
      // Without read access the drain only loses its early retry: 403 counts as unknown.
      const read = async (): Promise<{ allowed?: number } | "gone" | "forbidden"> => ({ allowed: (await policy.readNamespacedPodDisruptionBudget({ name: budget, namespace }, opts)).status?.disruptionsAllowed });
      const pdb = await call(`get poddisruptionbudget ${namespace}/${budget}`, read, (status) =>
        status === 404 ? ("gone" as const) : status === 403 ? ("forbidden" as const) : undefined,
      );
      if (pdb === "gone") return Number.POSITIVE_INFINITY;
      if (pdb === "forbidden") return undefined;
      return pdb.allowed;
    },

    podExists,

    async listWorkloads(namespace: string): Promise<WorkloadHealth[]> {
      const [deployments, daemonSets, statefulSets] = await Promise.all([
        call(`list deployments in ${namespace}`, () => apps.listNamespacedDeployment({ namespace }, opts)),
        call(`list daemonsets in ${namespace}`, () => apps.listNamespacedDaemonSet({ namespace }, opts)),
        call(`list statefulsets in ${namespace}`, () => apps.listNamespacedStatefulSet({ namespace }, opts)),
      ]);
      const health = (w: Parameters<typeof rolloutStatus>[0], name: string | undefined): WorkloadHealth => {
        const j = rolloutStatus(w);
        return { kind: j.kind, namespace, name: name ?? "", healthy: j.healthy, reason: j.reason, ...(j.unavailablePods === undefined ? {} : { unavailablePods: j.unavailablePods }) };
      };
      return [
        ...deployments.items.map((o) => health({ kind: "Deployment", object: o }, o.metadata?.name)),
        ...daemonSets.items.map((o) => health({ kind: "DaemonSet", object: o }, o.metadata?.name)),
        ...statefulSets.items.map((o) => health({ kind: "StatefulSet", object: o }, o.metadata?.name)),
      ];
    },

    async deleteNode(name: string): Promise<void> {
      await call(`delete node ${name}`, () => core.deleteNode({ name }, opts), absent({}));
    },

    async getNodeAnnotation(name: string, key: string): Promise<string | undefined> {
      const n = await call(`get node ${name}`, () => core.readNode({ name }, opts), absent(null));
      return n?.metadata?.annotations?.[key];
    },

    async setNodeAnnotation(name: string, key: string, value: string | null): Promise<void> {
      // In a merge patch null deletes the key.
      await call(`annotate node ${name}`, () =>
        core.patchNode({ name, body: { metadata: { annotations: { [key]: value } } } }, requestOptions(timeoutMs, PatchStrategy.MergePatch)),
      );
    },

    async listLeases(namespace: string): Promise<NamedLease[]> {
      const list = await call(`list leases in ${namespace}`, () => coordination.listNamespacedLease({ namespace }, opts));
      return list.items.map((l) => ({ name: l.metadata?.name ?? "", ...leaseState(l) }));
    },

    async getLease(namespace: string, name: string): Promise<LeaseState | undefined> {
      const l = await call(`get lease ${namespace}/${name}`, () => coordination.readNamespacedLease({ name, namespace }, opts), absent(null));
      return l === null ? undefined : leaseState(l);
    },

    async createLease(namespace: string, name: string, spec: LeaseSpec): Promise<LeaseWrite> {
      const body = leaseBody(namespace, name, spec);
      const l = await call(`create lease ${namespace}/${name}`, () => coordination.createNamespacedLease({ namespace, body }, opts), conflictAs(null));
      return l === null ? { kind: "conflict" } : { kind: "written", lease: leaseState(l) };
    },

    async updateLease(namespace: string, name: string, resourceVersion: string, spec: LeaseSpec): Promise<LeaseWrite> {
      const body = leaseBody(namespace, name, spec, resourceVersion);
      const l = await call(`update lease ${namespace}/${name}`, () => coordination.replaceNamespacedLease({ name, namespace, body }, opts), conflictAs(null));
      return l === null ? { kind: "conflict" } : { kind: "written", lease: leaseState(l) };
    },
  };
}

/** 409 (AlreadyExists on create, Conflict on a stale resourceVersion) as a value. */
const conflictAs = <T>(value: T) => (status: number): T | undefined => (status === 409 ? value : undefined);

function leaseBody(namespace: string, name: string, spec: LeaseSpec, resourceVersion?: string): V1Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    // MicroTime: the API server insists on six fraction digits, which V1MicroTime writes.
    spec: {
      ...(spec.holderIdentity === undefined ? {} : { holderIdentity: spec.holderIdentity }),
      ...(spec.leaseDurationSeconds === undefined ? {} : { leaseDurationSeconds: spec.leaseDurationSeconds }),
      ...(spec.acquireTime === undefined ? {} : { acquireTime: new V1MicroTime(spec.acquireTime) }),
      ...(spec.renewTime === undefined ? {} : { renewTime: new V1MicroTime(spec.renewTime) }),
      ...(spec.leaseTransitions === undefined ? {} : { leaseTransitions: spec.leaseTransitions }),
    },
  };
}

function leaseState(l: V1Lease): LeaseState {
  const s = l.spec ?? {};
  const time = (d: Date | string | undefined) => (d === undefined ? undefined : new Date(d).toISOString());
  const acquireTime = time(s.acquireTime);
  const renewTime = time(s.renewTime);
  return {
    resourceVersion: l.metadata?.resourceVersion ?? "",
    spec: {
      ...(s.holderIdentity ? { holderIdentity: s.holderIdentity } : {}),
      ...(s.leaseDurationSeconds === undefined ? {} : { leaseDurationSeconds: s.leaseDurationSeconds }),
      ...(acquireTime === undefined ? {} : { acquireTime }),
      ...(renewTime === undefined ? {} : { renewTime }),
      ...(s.leaseTransitions === undefined ? {} : { leaseTransitions: s.leaseTransitions }),
    },
  };
}

/** The server's message with the causes it gave (the PDB that refused, and why). */
function describe(e: unknown): string {
  const s = statusOf(e);
  return s.causes === undefined || s.causes.length === 0 ? s.message : `${s.message} (${s.causes.join("; ")})`;
}

export { KubeApiError };
