/**
 * Workload status as the Deployment, DaemonSet and StatefulSet controllers write it, computed
 * from the pods that exist now. Zero-valued fields the real API leaves out (omitempty) are left
 * out here too.
 */
import {
  type ClusterState,
  type ConditionStatus,
  type WorkloadRecord,
  isActive,
  kubeTime,
} from "./model";

type Status = Record<string, unknown>;

/** Drops the keys whose value is 0, mirroring Go's omitempty on int32 fields. */
function omitZero(fields: Record<string, number>, keep: readonly string[] = []): Status {
  return Object.fromEntries(Object.entries(fields).filter(([k, v]) => v !== 0 || keep.includes(k)));
}

/** Resolves an int-or-percent against `total` the way intstr.GetScaledValueFromIntOrPercent does. */
export function scaled(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  const m = /^(\d+)%$/.exec(value);
  if (m === null) throw new Error(`invalid value for IntOrString: ${JSON.stringify(value)}`);
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}

function setCondition(w: WorkloadRecord, type: string, status: ConditionStatus, reason: string, message: string, now: string): void {
  const old = w.conditions.get(type);
  if (old !== undefined && old.status === status && old.reason === reason && old.message === message) return;
  w.conditions.set(type, {
    status,
    reason,
    message,
    lastUpdateTime: now,
    lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime : now,
  });
}

function deploymentStatus(state: ClusterState, key: string, w: WorkloadRecord): Status {
  const pods = state.podsOf(key).filter(isActive);
  const ready = pods.filter((p) => p.ready).length;
  // Default RollingUpdate strategy: maxSurge 25% rounded up, maxUnavailable 25% rounded down.
  const surge = scaled("25%", w.replicas, true);
  let maxUnavailable = scaled("25%", w.replicas, false);
  if (surge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  const now = kubeTime(state.now());
  const rs = w.replicaSet?.name ?? w.meta.name;
  if (ready >= w.replicas - maxUnavailable) {
    setCondition(w, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now);
  } else {
    setCondition(w, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", now);
  }
  if (pods.length === w.replicas && ready === w.replicas) {
    setCondition(w, "Progressing", "True", "NewReplicaSetAvailable", `ReplicaSet "${rs}" has successfully progressed.`, now);
  } else {
    setCondition(w, "Progressing", "True", "ReplicaSetUpdated", `ReplicaSet "${rs}" is progressing.`, now);
  }
  return {
    ...omitZero({
      observedGeneration: w.meta.generation ?? 1,
      replicas: pods.length,
      updatedReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, w.replicas - ready),
    }),
    conditions: ["Available", "Progressing"].flatMap((type) => {
      const c = w.conditions.get(type);
      return c === undefined ? [] : [{ type, ...c }];
    }),
  };
}

function daemonSetStatus(state: ClusterState, key: string, w: WorkloadRecord): Status {
  const pods = state.podsOf(key).filter(isActive);
  const desired = state.nodes.size;
  const scheduled = new Set(pods.map((p) => p.nodeName)).size;
  const ready = pods.filter((p) => p.ready).length;
  return omitZero(
    {
      currentNumberScheduled: scheduled,
      numberMisscheduled: 0,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: w.meta.generation ?? 1,
      updatedNumberScheduled: scheduled,
      numberAvailable: ready,
      numberUnavailable: Math.max(0, desired - ready),
    },
    ["currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady"],
  );
}

function statefulSetStatus(state: ClusterState, key: string, w: WorkloadRecord): Status {
  // The StatefulSet controller counts a terminating pod as created until it is gone.
  const pods = state.podsOf(key).filter((p) => (p.ordinal ?? 0) < w.replicas);
  const ready = pods.filter((p) => p.ready && isActive(p)).length;
  const revision = `${w.meta.name}-${w.hash}`;
  return {
    ...omitZero(
      {
        observedGeneration: w.meta.generation ?? 1,
        replicas: pods.length,
        readyReplicas: ready,
        currentReplicas: pods.length,
        updatedReplicas: pods.length,
        availableReplicas: ready,
      },
      ["replicas", "availableReplicas"],
    ),
    currentRevision: revision,
    updateRevision: revision,
    collisionCount: 0,
  };
}

/** Recomputes a workload's status; true when it changed (the caller bumps resourceVersion). */
export function refreshWorkloadStatus(state: ClusterState, key: string, w: WorkloadRecord): boolean {
  const status =
    w.kind === "Deployment"
      ? deploymentStatus(state, key, w)
      : w.kind === "DaemonSet"
        ? daemonSetStatus(state, key, w)
        : statefulSetStatus(state, key, w);
  if (w.status !== undefined && JSON.stringify(w.status) === JSON.stringify(status)) return false;
  w.status = status;
  state.touch(w.meta);
  return true;
}
