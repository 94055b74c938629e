/**
 * PodDisruptionBudget status as the disruption controller computes it, and the Eviction
 * subresource's decision, following the rules of the real API server: the budget is checked
 * only for a healthy running pod; an unhealthy one may go while the budget is met.
 */
import { SIM_KUBE_DEFAULTS } from "./constants";
import {
  type ClusterState,
  type PdbRecord,
  type PodRecord,
  isHealthy,
  kubeTime,
  matchesLabels,
} from "./model";
import { beginPodDeletion } from "./pods";
import { ApiError } from "./status";
import { scaled } from "./workloadStatus";

/** The live numbers of one budget. */
export interface BudgetNumbers {
  readonly currentHealthy: number;
  readonly desiredHealthy: number;
  readonly expectedPods: number;
  readonly disruptionsAllowed: number;
}

function podsOfPdb(state: ClusterState, pdb: PdbRecord): PodRecord[] {
  return [...state.pods.values()].filter(
    (p) => p.meta.namespace === pdb.meta.namespace && matchesLabels(pdb.selector, p.meta.labels),
  );
}

/** The summed scale of the controllers owning `pods` (ReplicaSet → its Deployment, StatefulSet). */
function expectedScale(state: ClusterState, pods: readonly PodRecord[]): number {
  const seen = new Set<string>();
  let total = 0;
  for (const pod of pods) {
    if (pod.workload === undefined || seen.has(pod.workload)) continue;
    seen.add(pod.workload);
    const w = state.workloads.get(pod.workload);
    if (w !== undefined && w.kind !== "DaemonSet") total += w.replicas;
  }
  return total;
}

/** currentHealthy, desiredHealthy, expectedPods and disruptionsAllowed as the disruption controller computes them. */
export function budgetNumbers(state: ClusterState, pdb: PdbRecord): BudgetNumbers {
  const pods = podsOfPdb(state, pdb);
  const currentHealthy = pods.filter(isHealthy).length;
  let expectedPods: number;
  let desiredHealthy: number;
  if (pdb.maxUnavailable !== undefined) {
    expectedPods = expectedScale(state, pods);
    desiredHealthy = Math.max(0, expectedPods - scaled(pdb.maxUnavailable, expectedPods, true));
  } else if (typeof pdb.minAvailable === "number") {
    expectedPods = pods.length;
    desiredHealthy = pdb.minAvailable;
  } else {
    expectedPods = expectedScale(state, pods);
    desiredHealthy = scaled(pdb.minAvailable ?? 0, expectedPods, true);
  }
  const allowed = currentHealthy - desiredHealthy;
  return { currentHealthy, desiredHealthy, expectedPods, disruptionsAllowed: expectedPods <= 0 || allowed <= 0 ? 0 : allowed };
}

/** Recomputes a budget's status; true when it changed. */
export function refreshPdbStatus(state: ClusterState, pdb: PdbRecord): boolean {
  const n = budgetNumbers(state, pdb);
  const allowed = n.disruptionsAllowed > 0;
  if (pdb.allowedSince === undefined || pdb.allowedSince.allowed !== allowed) {
    pdb.allowedSince = { allowed, since: kubeTime(state.now()) };
  }
  const status: Record<string, unknown> = {
    observedGeneration: pdb.meta.generation ?? 1,
    disruptionsAllowed: n.disruptionsAllowed,
    currentHealthy: n.currentHealthy,
    desiredHealthy: n.desiredHealthy,
    expectedPods: n.expectedPods,
    conditions: [
      {
        type: "DisruptionAllowed",
        status: allowed ? "True" : "False",
        reason: allowed ? "SufficientPods" : "InsufficientPods",
        message: "",
        observedGeneration: pdb.meta.generation ?? 1,
        lastTransitionTime: pdb.allowedSince.since,
      },
    ],
  };
  if (pdb.status !== undefined && JSON.stringify(pdb.status) === JSON.stringify(status)) return false;
  pdb.status = status;
  state.touch(pdb.meta);
  return true;
}

/** What the Eviction subresource did. */
export type EvictionOutcome = { readonly result: "evicted"; readonly pod: PodRecord };

interface EvictionBody {
  readonly metadata?: { readonly name?: unknown };
  readonly deleteOptions?: { readonly gracePeriodSeconds?: unknown; readonly preconditions?: { readonly uid?: unknown } };
}

function asEviction(body: unknown): EvictionBody {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw ApiError.badRequest("the body of the request was in an unknown format");
  return body as EvictionBody;
}

/**
 * POST pods/{name}/eviction (with dryRun only the checks). Throws an ApiError (404, 400, 409, 429, 500) the way the real
 * server answers; on success the pod is being deleted.
 */
export function evictPod(
  state: ClusterState,
  namespace: string,
  name: string,
  rawBody: unknown,
  terminationMs: number,
  dryRun = false,
): EvictionOutcome {
  const body = asEviction(rawBody);
  const pod = state.pods.get(`${namespace}/${name}`);
  if (pod === undefined) throw ApiError.notFound("pods", name);
  if (body.metadata?.name !== undefined && body.metadata.name !== name) {
    throw ApiError.badRequest(`name in URL does not match name in Eviction object`);
  }
  const uid = body.deleteOptions?.preconditions?.uid;
  if (typeof uid === "string" && uid !== pod.meta.uid) {
    throw ApiError.conflict("pods", name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.meta.uid}`);
  }
  const grace = body.deleteOptions?.gracePeriodSeconds;
  const graceSeconds = typeof grace === "number" && grace >= 0 ? grace : SIM_KUBE_DEFAULTS.terminationGracePeriodSeconds;
  // A pod already being deleted has caused its disruption: no budget check.
  if (pod.deletion === undefined) checkBudget(state, pod);
  if (!dryRun) beginPodDeletion(state, pod, graceSeconds, terminationMs);
  return { result: "evicted", pod };
}

function checkBudget(state: ClusterState, pod: PodRecord): void {
  const pdbs = [...state.pdbs.values()].filter(
    (b) => b.meta.namespace === pod.meta.namespace && matchesLabels(b.selector, pod.meta.labels),
  );
  if (pdbs.length === 0) return;
  if (pdbs.length > 1) {
    throw ApiError.internal("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  }
  const pdb = pdbs[0];
  const n = budgetNumbers(state, pdb);
  // Default unhealthyPodEvictionPolicy IfHealthyBudget: an unready pod may go while the budget holds.
  if (!pod.ready && n.currentHealthy >= n.desiredHealthy && n.desiredHealthy > 0) return;
  if (n.disruptionsAllowed <= 0) {
    throw ApiError.tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", [
      {
        reason: "DisruptionBudget",
        message: `The disruption budget ${pdb.meta.name} needs ${n.desiredHealthy} healthy pods and has ${n.currentHealthy} currently`,
      },
    ]);
  }
}
