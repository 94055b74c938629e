import * as assert from "node:assert/strict";
import {
  type DaemonSetLike,
  type DeploymentLike,
  type StatefulSetLike,
  daemonSetRollout,
  deploymentRollout,
  rolloutStatus,
  statefulSetRollout,
} from "../../lib/cluster/rolloutStatus";

interface Case<T> {
  readonly name: string;
  readonly object: T;
  readonly healthy: boolean;
  readonly reason: string;
  /** A DaemonSet complete but for pods that are not available. */
  readonly unavailablePods?: number;
}

function table<T>(title: string, judge: (o: T) => { healthy: boolean; reason: string; unavailablePods?: number }, cases: readonly Case<T>[]): void {
  describe(title, () => {
    for (const c of cases) {
      it(c.name, () => {
        assert.deepEqual(judge(c.object), { healthy: c.healthy, reason: c.reason, ...(c.unavailablePods === undefined ? {} : { unavailablePods: c.unavailablePods }) });
      });
    }
  });
}

const dep = (spec: number | undefined, gen: number, status: NonNullable<DeploymentLike["status"]>): DeploymentLike => ({
  metadata: { name: "web", generation: gen },
  spec: spec === undefined ? {} : { replicas: spec },
  status,
});

table("rollout status: Deployment", deploymentRollout, [
  { name: "all replicas updated and available", healthy: true, reason: 'deployment "web" successfully rolled out',
    object: dep(3, 2, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }) },
  { name: "observedGeneration lags the spec", healthy: false, reason: "Waiting for deployment spec update to be observed...",
    object: dep(3, 3, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }) },
  { name: "observedGeneration ahead (cached read) still judges the counts", healthy: true, reason: 'deployment "web" successfully rolled out',
    object: dep(1, 1, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }) },
  { name: "an evicted replica not yet replaced", healthy: false,
    reason: 'Waiting for deployment "web" rollout to finish: 2 out of 3 new replicas have been updated...',
    object: dep(3, 1, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }) },
  { name: "old replicas still terminating", healthy: false,
    reason: 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
    object: dep(3, 4, { observedGeneration: 4, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }) },
  { name: "updated but not available", healthy: false,
    reason: 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...', unavailablePods: 2,
    object: dep(3, 1, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 1 }) },
  { name: "status with zero fields omitted", healthy: false,
    reason: 'Waiting for deployment "web" rollout to finish: 0 out of 2 new replicas have been updated...',
    object: dep(2, 1, { observedGeneration: 1 }) },
  { name: "progress deadline exceeded", healthy: false, reason: 'deployment "web" exceeded its progress deadline',
    object: dep(3, 1, { observedGeneration: 1, replicas: 3, updatedReplicas: 1, availableReplicas: 1,
      conditions: [{ type: "Available", reason: "MinimumReplicasUnavailable" }, { type: "Progressing", reason: "ProgressDeadlineExceeded" }] }) },
  { name: "scaled to zero", healthy: true, reason: 'deployment "web" successfully rolled out',
    object: dep(0, 1, { observedGeneration: 1 }) },
  { name: "spec.replicas absent skips the update count", healthy: true, reason: 'deployment "web" successfully rolled out',
    object: dep(undefined, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }) },
]);

const ds = (type: string | undefined, gen: number, status: NonNullable<DaemonSetLike["status"]>): DaemonSetLike => ({
  metadata: { name: "kube-proxy", generation: gen },
  spec: type === undefined ? {} : { updateStrategy: { type } },
  status,
});

table("rollout status: DaemonSet", daemonSetRollout, [
  { name: "every node runs an available updated pod", healthy: true, reason: 'daemon set "kube-proxy" successfully rolled out',
    object: ds("RollingUpdate", 1, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }) },
  { name: "a node's pod is not ready (node rebooting)", healthy: false,
    reason: 'Waiting for daemon set "kube-proxy" rollout to finish: 2 of 3 updated pods are available...', unavailablePods: 1,
    object: ds("RollingUpdate", 1, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 }) },
  { name: "pods still on the old template", healthy: false,
    reason: 'Waiting for daemon set "kube-proxy" rollout to finish: 1 out of 3 new pods have been updated...',
    object: ds("RollingUpdate", 2, { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 1, numberAvailable: 3 }) },
  { name: "observedGeneration lags", healthy: false, reason: "Waiting for daemon set spec update to be observed...",
    object: ds("RollingUpdate", 5, { observedGeneration: 4, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }) },
  { name: "no nodes to run on", healthy: true, reason: 'daemon set "kube-proxy" successfully rolled out',
    object: ds("RollingUpdate", 1, { observedGeneration: 1, desiredNumberScheduled: 0 }) },
  { name: "OnDelete with every pod available", healthy: true,
    reason: 'daemon set "kube-proxy" uses the OnDelete update strategy (kubectl rollout status only follows RollingUpdate): 3 of 3 pods are available',
    object: ds("OnDelete", 2, { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 1, numberAvailable: 3 }) },
  { name: "OnDelete with a pod unavailable", healthy: false,
    reason: 'Waiting for daemon set "kube-proxy" (OnDelete update strategy): 2 of 3 pods are available...', unavailablePods: 1,
    object: ds("OnDelete", 1, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 }) },
  { name: "OnDelete with observedGeneration lagging", healthy: false, reason: "Waiting for daemon set spec update to be observed...",
    object: ds("OnDelete", 2, { observedGeneration: 1, desiredNumberScheduled: 3, numberAvailable: 3 }) },
]);

const sts = (
  replicas: number | undefined,
  strategy: NonNullable<StatefulSetLike["spec"]>["updateStrategy"],
  gen: number,
  status: NonNullable<StatefulSetLike["status"]>,
): StatefulSetLike => ({
  metadata: { name: "db", generation: gen },
  spec: { ...(replicas === undefined ? {} : { replicas }), ...(strategy === undefined ? {} : { updateStrategy: strategy }) },
  status,
});
const rolling = (partition?: number) => ({ type: "RollingUpdate", rollingUpdate: partition === undefined ? {} : { partition } });

table("rollout status: StatefulSet", statefulSetRollout, [
  { name: "defaulted partition 0, all ready and updated", healthy: true, reason: "partitioned roll out complete: 2 new pods have been updated...",
    object: sts(2, rolling(0), 1, { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2, currentReplicas: 2, currentRevision: "db-1", updateRevision: "db-1" }) },
  { name: "a pod not ready", healthy: false, reason: "Waiting for 1 pods to be ready...", unavailablePods: 1,
    object: sts(2, rolling(0), 1, { observedGeneration: 1, readyReplicas: 1, updatedReplicas: 2 }) },
  { name: "observedGeneration 0 (never observed)", healthy: false, reason: "Waiting for statefulset spec update to be observed...",
    object: sts(2, rolling(0), 1, { readyReplicas: 2 }) },
  { name: "observedGeneration lags", healthy: false, reason: "Waiting for statefulset spec update to be observed...",
    object: sts(2, rolling(0), 3, { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2 }) },
  { name: "partition 2 of 5: three updated is complete", healthy: true, reason: "partitioned roll out complete: 3 new pods have been updated...",
    object: sts(5, rolling(2), 2, { observedGeneration: 2, readyReplicas: 5, updatedReplicas: 3, currentRevision: "db-1", updateRevision: "db-2" }) },
  { name: "partition 2 of 5: two updated is not", healthy: false,
    reason: "Waiting for partitioned roll out to finish: 2 out of 3 new pods have been updated...",
    object: sts(5, rolling(2), 2, { observedGeneration: 2, readyReplicas: 5, updatedReplicas: 2, currentRevision: "db-1", updateRevision: "db-2" }) },
  { name: "rollingUpdate absent, revisions differ", healthy: false, reason: "waiting for statefulset rolling update to complete 1 pods at revision db-2...",
    object: sts(2, { type: "RollingUpdate" }, 2, { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 1, currentReplicas: 1, currentRevision: "db-1", updateRevision: "db-2" }) },
  { name: "rollingUpdate absent, revisions equal", healthy: true, reason: "statefulset rolling update complete 2 pods at revision db-2...",
    object: sts(2, { type: "RollingUpdate" }, 2, { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, currentReplicas: 2, currentRevision: "db-2", updateRevision: "db-2" }) },
  { name: "OnDelete with all ready", healthy: true,
    reason: 'statefulset "db" uses the OnDelete update strategy (kubectl rollout status only follows RollingUpdate): 2 pods are ready',
    object: sts(2, { type: "OnDelete" }, 3, { observedGeneration: 3, readyReplicas: 2, updatedReplicas: 0, currentRevision: "db-1", updateRevision: "db-3" }) },
  { name: "OnDelete with a pod not ready", healthy: false, reason: "Waiting for 1 pods to be ready...", unavailablePods: 1,
    object: sts(2, { type: "OnDelete" }, 1, { observedGeneration: 1, readyReplicas: 1 }) },
]);

describe("rollout status: dispatch", () => {
  it("names the kind it judged", () => {
    const j = rolloutStatus({ kind: "DaemonSet", object: ds("RollingUpdate", 1, { observedGeneration: 1, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 0 }) });
    assert.equal(j.kind, "DaemonSet");
    assert.equal(j.healthy, false);
  });
});
