/**
 * apps/v1 workloads, the Deployments' ReplicaSets, policy/v1 PodDisruptionBudgets and
 * Namespaces rendered as API objects.
 */
import { type ClusterState, type ObjectMeta, type PdbRecord, type WorkloadRecord, isActive } from "./model";
import { renderMeta, renderPodSpec } from "./render";

type Obj = Record<string, unknown>;

function template(w: WorkloadRecord, extraLabels: Record<string, string> = {}): Obj {
  return { metadata: { labels: { ...w.template.labels, ...extraLabels } }, spec: renderPodSpec(w.template) };
}

function workloadSpec(w: WorkloadRecord): Obj {
  const selector = { matchLabels: { ...w.selector } };
  switch (w.kind) {
    case "Deployment":
      return {
        replicas: w.replicas,
        selector,
        template: template(w),
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      };
    case "DaemonSet":
      return {
        selector,
        template: template(w),
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
        revisionHistoryLimit: 10,
      };
    case "StatefulSet":
      return {
        replicas: w.replicas,
        selector,
        template: template(w),
        serviceName: w.meta.name,
        podManagementPolicy: "OrderedReady",
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
        revisionHistoryLimit: 10,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      };
  }
}

/** A Deployment, DaemonSet or StatefulSet with its defaulted spec and last written status. */
export function renderWorkload(w: WorkloadRecord): Obj {
  return {
    kind: w.kind,
    apiVersion: "apps/v1",
    metadata: renderMeta(w.meta),
    spec: workloadSpec(w),
    status: w.status ?? {},
  };
}

/** The ReplicaSet behind a Deployment, with a status counted from its pods. */
export function renderReplicaSet(state: ClusterState, key: string, w: WorkloadRecord, rs: ObjectMeta): Obj {
  const pods = state.podsOf(key).filter(isActive);
  const ready = pods.filter((p) => p.ready).length;
  const owner = { apiVersion: "apps/v1", kind: "Deployment", name: w.meta.name, uid: w.meta.uid, controller: true, blockOwnerDeletion: true };
  return {
    kind: "ReplicaSet",
    apiVersion: "apps/v1",
    metadata: renderMeta({ ...rs, generation: 1 }, { ownerReferences: [owner] }),
    spec: {
      replicas: w.replicas,
      selector: { matchLabels: { ...w.selector, "pod-template-hash": w.hash } },
      template: template(w, { "pod-template-hash": w.hash }),
    },
    status: {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      ...(ready === 0 ? {} : { readyReplicas: ready, availableReplicas: ready }),
      observedGeneration: 1,
    },
  };
}

/** A policy/v1 PodDisruptionBudget with its last written status. */
export function renderPdb(pdb: PdbRecord): Obj {
  return {
    kind: "PodDisruptionBudget",
    apiVersion: "policy/v1",
    metadata: renderMeta(pdb.meta),
    spec: {
      ...(pdb.minAvailable === undefined ? {} : { minAvailable: pdb.minAvailable }),
      ...(pdb.maxUnavailable === undefined ? {} : { maxUnavailable: pdb.maxUnavailable }),
      selector: { matchLabels: { ...pdb.selector } },
    },
    status: pdb.status ?? {},
  };
}

/** A core/v1 Namespace (always Active). */
export function renderNamespace(meta: ObjectMeta): Obj {
  return {
    kind: "Namespace",
    apiVersion: "v1",
    metadata: renderMeta(meta),
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  };
}

/** Fields the generic fieldSelector supports on namespaced objects. */
export const META_FIELDS: ReadonlySet<string> = new Set(["metadata.name", "metadata.namespace"]);

/** The values of META_FIELDS for one object. */
export function metaFields(meta: ObjectMeta): Record<string, string> {
  return { "metadata.name": meta.name, "metadata.namespace": meta.namespace ?? "" };
}
