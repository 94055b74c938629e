/**
 * Judges a workload's health the way `kubectl rollout status` does, from the object alone:
 * the controller must have observed the current generation, every replica must run the new
 * template, and enough of them must be available (ready, for StatefulSets). Reasons use
 * kubectl's own words.
 *
 * kubectl refuses DaemonSets and StatefulSets with the OnDelete update strategy ("rollout status
 * is only available for RollingUpdate strategy type"); a health gate still needs an answer,
 * so for those we require the observed generation and all pods available/ready.
 *
 * The input shapes are structural subsets of the API objects (client-node's V1Deployment etc.
 * fit them), so this module has no dependencies and is unit-tested on plain objects.
 */
import type { WorkloadKind } from "./cluster";

interface Meta {
  readonly name?: string;
  readonly generation?: number;
}

/** The Deployment fields kubectl's status viewer reads. */
export interface DeploymentLike {
  readonly metadata?: Meta;
  readonly spec?: { readonly replicas?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly updatedReplicas?: number;
    readonly availableReplicas?: number;
    readonly conditions?: ReadonlyArray<{ readonly type?: string; readonly reason?: string }>;
  };
}

/** The DaemonSet fields kubectl's status viewer reads. */
export interface DaemonSetLike {
  readonly metadata?: Meta;
  readonly spec?: { readonly updateStrategy?: { readonly type?: string } };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly desiredNumberScheduled?: number;
    readonly updatedNumberScheduled?: number;
    readonly numberAvailable?: number;
  };
}

/** The StatefulSet fields kubectl's status viewer reads. */
export interface StatefulSetLike {
  readonly metadata?: Meta;
  readonly spec?: {
    readonly replicas?: number;
    readonly updateStrategy?: { readonly type?: string; readonly rollingUpdate?: { readonly partition?: number } };
  };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly readyReplicas?: number;
    readonly updatedReplicas?: number;
    readonly currentReplicas?: number;
    readonly currentRevision?: string;
    readonly updateRevision?: string;
  };
}

/** The verdict and kubectl's sentence for it (without its trailing newline). */
export interface RolloutJudgement {
  readonly healthy: boolean;
  readonly reason: string;
  /**
   * A workload that is complete but for pods that are not available: how many. Pods on Nodes
   * that are down for a known reason (health.ts) may be the missing ones.
   */
  readonly unavailablePods?: number;
}

const done = (reason: string): RolloutJudgement => ({ healthy: true, reason });
const waiting = (reason: string): RolloutJudgement => ({ healthy: false, reason });

/** Deployment: kubectl's DeploymentStatusViewer. */
export function deploymentRollout(d: DeploymentLike): RolloutJudgement {
  const name = d.metadata?.name ?? "";
  const generation = d.metadata?.generation ?? 0;
  const s = d.status ?? {};
  if (generation > (s.observedGeneration ?? 0)) return waiting("Waiting for deployment spec update to be observed...");
  const progressing = s.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") return waiting(`deployment "${name}" exceeded its progress deadline`);
  const updated = s.updatedReplicas ?? 0;
  const wanted = d.spec?.replicas;
  if (wanted !== undefined && updated < wanted) {
    return waiting(`Waiting for deployment "${name}" rollout to finish: ${updated} out of ${wanted} new replicas have been updated...`);
  }
  const replicas = s.replicas ?? 0;
  if (replicas > updated) {
    return waiting(`Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...`);
  }
  const available = s.availableReplicas ?? 0;
  if (available < updated) {
    return { ...waiting(`Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`), unavailablePods: updated - available };
  }
  return done(`deployment "${name}" successfully rolled out`);
}

const ON_DELETE_NOTE = "uses the OnDelete update strategy (kubectl rollout status only follows RollingUpdate)";

/** DaemonSet: kubectl's DaemonSetStatusViewer, plus an availability check for OnDelete. */
export function daemonSetRollout(ds: DaemonSetLike): RolloutJudgement {
  const name = ds.metadata?.name ?? "";
  const s = ds.status ?? {};
  const desired = s.desiredNumberScheduled ?? 0;
  const available = s.numberAvailable ?? 0;
  const rolling = (ds.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
  if ((ds.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) return waiting("Waiting for daemon set spec update to be observed...");
  if (!rolling) {
    return available < desired
      ? { ...waiting(`Waiting for daemon set "${name}" (OnDelete update strategy): ${available} of ${desired} pods are available...`), unavailablePods: desired - available }
      : done(`daemon set "${name}" ${ON_DELETE_NOTE}: ${available} of ${desired} pods are available`);
  }
  const updated = s.updatedNumberScheduled ?? 0;
  if (updated < desired) {
    return waiting(`Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...`);
  }
  if (available < desired) {
    return { ...waiting(`Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...`), unavailablePods: desired - available };
  }
  return done(`daemon set "${name}" successfully rolled out`);
}

/** StatefulSet: kubectl's StatefulSetStatusViewer (partitioned updates included), plus OnDelete. */
export function statefulSetRollout(sts: StatefulSetLike): RolloutJudgement {
  const name = sts.metadata?.name ?? "";
  const s = sts.status ?? {};
  const strategy = sts.spec?.updateStrategy;
  const rolling = (strategy?.type ?? "RollingUpdate") === "RollingUpdate";
  const observed = s.observedGeneration ?? 0;
  if (observed === 0 || (sts.metadata?.generation ?? 0) > observed) return waiting("Waiting for statefulset spec update to be observed...");
  const replicas = sts.spec?.replicas;
  const ready = s.readyReplicas ?? 0;
  if (replicas !== undefined && ready < replicas) return { ...waiting(`Waiting for ${replicas - ready} pods to be ready...`), unavailablePods: replicas - ready };
  if (!rolling) return done(`statefulset "${name}" ${ON_DELETE_NOTE}: ${ready} pods are ready`);
  const updated = s.updatedReplicas ?? 0;
  if (strategy?.rollingUpdate !== undefined) {
    const partition = strategy.rollingUpdate.partition;
    if (replicas !== undefined && partition !== undefined && updated < replicas - partition) {
      return waiting(`Waiting for partitioned roll out to finish: ${updated} out of ${replicas - partition} new pods have been updated...`);
    }
    return done(`partitioned roll out complete: ${updated} new pods have been updated...`);
  }
  if (s.updateRevision !== s.currentRevision) {
    return waiting(`waiting for statefulset rolling update to complete ${updated} pods at revision ${s.updateRevision ?? ""}...`);
  }
  return done(`statefulset rolling update complete ${s.currentReplicas ?? 0} pods at revision ${s.currentRevision ?? ""}...`);
}

/** Dispatches on the workload kind. */
export function rolloutStatus(
  w:
    | { readonly kind: "Deployment"; readonly object: DeploymentLike }
    | { readonly kind: "DaemonSet"; readonly object: DaemonSetLike }
    | { readonly kind: "StatefulSet"; readonly object: StatefulSetLike },
): RolloutJudgement & { readonly kind: WorkloadKind } {
  switch (w.kind) {
    case "Deployment":
      return { kind: w.kind, ...deploymentRollout(w.object) };
    case "DaemonSet":
      return { kind: w.kind, ...daemonSetRollout(w.object) };
    case "StatefulSet":
      return { kind: w.kind, ...statefulSetRollout(w.object) };
  }
}
