/**
 * The workloads of the simulated cluster, created through the API so the real controllers
 * make their pods and the real scheduler binds them: what k3s runs in kube-system (DaemonSets,
 * coredns, metrics-server with an emptyDir) and a demo application in default (the `web`
 * Deployment under a PodDisruptionBudget, the `db` StatefulSet). And the pdb-blocks fault: one
 * pod pinned to a node under a budget that allows no disruption.
 */
import type { V1DaemonSet, V1Deployment, V1PodDisruptionBudget, V1PodTemplateSpec, V1StatefulSet } from "@kubernetes/client-node";
import type { Api } from "./api";
import { unless } from "./api";

interface PodShape {
  readonly labels: Readonly<Record<string, string>>;
  readonly container: string;
  readonly image: string;
  readonly emptyDirs?: readonly string[];
  readonly hostNetwork?: boolean;
  readonly priorityClassName?: string;
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

function template(s: PodShape): V1PodTemplateSpec {
  return {
    metadata: { labels: { ...s.labels } },
    spec: {
      containers: [{ name: s.container, image: s.image, volumeMounts: (s.emptyDirs ?? []).map((v) => ({ name: v, mountPath: `/${v}` })) }],
      volumes: (s.emptyDirs ?? []).map((v) => ({ name: v, emptyDir: {} })),
      ...(s.hostNetwork ? { hostNetwork: true } : {}),
      ...(s.priorityClassName ? { priorityClassName: s.priorityClassName } : {}),
      ...(s.nodeSelector ? { nodeSelector: { ...s.nodeSelector } } : {}),
    },
  };
}

function deployment(namespace: string, name: string, replicas: number, s: PodShape): V1Deployment {
  return { metadata: { name, namespace, labels: { ...s.labels } }, spec: { replicas, selector: { matchLabels: { ...s.labels } }, template: template(s) } };
}

function daemonSet(namespace: string, name: string, s: PodShape): V1DaemonSet {
  return { metadata: { name, namespace, labels: { ...s.labels } }, spec: { selector: { matchLabels: { ...s.labels } }, template: template(s) } };
}

function budget(namespace: string, name: string, labels: Readonly<Record<string, string>>, minAvailable: number): V1PodDisruptionBudget {
  return { metadata: { name, namespace }, spec: { minAvailable, selector: { matchLabels: { ...labels } } } };
}

const DAEMON_SETS: ReadonlyArray<[string, string, PodShape]> = [
  ["kube-system", "kube-proxy", { labels: { "k8s-app": "kube-proxy" }, container: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.30.3", hostNetwork: true, priorityClassName: "system-node-critical" }],
  ["kube-system", "flannel", { labels: { app: "flannel", tier: "node" }, container: "kube-flannel", image: "ghcr.io/flannel-io/flannel:v0.26.1", hostNetwork: true, priorityClassName: "system-node-critical" }],
];

const DEPLOYMENTS: ReadonlyArray<[string, string, number, PodShape]> = [
  ["kube-system", "coredns", 2, { labels: { "k8s-app": "kube-dns" }, container: "coredns", image: "registry.k8s.io/coredns/coredns:v1.11.3", priorityClassName: "system-cluster-critical" }],
  ["kube-system", "metrics-server", 1, { labels: { "k8s-app": "metrics-server" }, container: "metrics-server", image: "registry.k8s.io/metrics-server/metrics-server:v0.7.2", emptyDirs: ["tmp-dir"], priorityClassName: "system-cluster-critical" }],
  ["default", "web", 3, { labels: { app: "web" }, container: "nginx", image: "nginx:1.27", emptyDirs: ["cache"] }],
];

const DB: PodShape = { labels: { app: "db" }, container: "postgres", image: "postgres:16" };

/** Creates the seeded workloads and the `web` budget (minAvailable 2); objects already there are kept. */
export async function seedWorkloads(api: Api): Promise<void> {
  for (const [namespace, name, s] of DAEMON_SETS) await unless(409, api.apps.createNamespacedDaemonSet({ namespace, body: daemonSet(namespace, name, s) }));
  for (const [namespace, name, replicas, s] of DEPLOYMENTS) await unless(409, api.apps.createNamespacedDeployment({ namespace, body: deployment(namespace, name, replicas, s) }));
  await unless(409, api.core.createNamespacedService({ namespace: "default", body: { metadata: { name: "db" }, spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 5432 }] } } }));
  const db: V1StatefulSet = { metadata: { name: "db", namespace: "default", labels: { app: "db" } }, spec: { serviceName: "db", replicas: 2, selector: { matchLabels: { app: "db" } }, template: template(DB) } };
  await unless(409, api.apps.createNamespacedStatefulSet({ namespace: "default", body: db }));
  await unless(409, api.policy.createNamespacedPodDisruptionBudget({ namespace: "default", body: budget("default", "web", { app: "web" }, 2) }));
}

/** Why the seeded workloads are not all available yet, or undefined when they are. */
export async function seedPending(api: Api): Promise<string | undefined> {
  const waiting: string[] = [];
  for (const [namespace, name] of DAEMON_SETS) {
    const s = (await api.apps.readNamespacedDaemonSet({ name, namespace })).status;
    if ((s?.desiredNumberScheduled ?? 0) === 0 || s?.numberReady !== s?.desiredNumberScheduled) waiting.push(`${namespace}/${name} ${s?.numberReady ?? 0}/${s?.desiredNumberScheduled ?? 0} ready`);
  }
  for (const [namespace, name, replicas] of DEPLOYMENTS) {
    const s = (await api.apps.readNamespacedDeployment({ name, namespace })).status;
    if ((s?.availableReplicas ?? 0) < replicas) waiting.push(`${namespace}/${name} ${s?.availableReplicas ?? 0}/${replicas} available`);
  }
  const db = (await api.apps.readNamespacedStatefulSet({ name: "db", namespace: "default" })).status;
  if ((db?.readyReplicas ?? 0) < 2) waiting.push(`default/db ${db?.readyReplicas ?? 0}/2 ready`);
  return waiting.length === 0 ? undefined : waiting.join(", ");
}

/** Name of the Deployment and the budget of the pdb-blocks fault on `node`. */
export function pinnedName(node: string): string {
  return `pinned-${node}`;
}

/** pdb-blocks on: a one-replica Deployment pinned to the node by its hostname label, under a budget of minAvailable 1. */
export async function addPinned(api: Api, node: string): Promise<void> {
  const name = pinnedName(node);
  const shape: PodShape = { labels: { app: name }, container: "app", image: "busybox:1.36", nodeSelector: { "kubernetes.io/hostname": node } };
  await unless(409, api.apps.createNamespacedDeployment({ namespace: "default", body: deployment("default", name, 1, shape) }));
  await unless(409, api.policy.createNamespacedPodDisruptionBudget({ namespace: "default", body: budget("default", name, { app: name }, 1) }));
}

/**
 * Why the pinned pod is not yet protected, or undefined once it is: Running and Ready, and the
 * budget processed by the disruption controller with no disruption allowed. (A pending pod
 * would be evicted regardless of any budget.)
 */
export async function pinnedPending(api: Api, node: string): Promise<string | undefined> {
  const name = pinnedName(node);
  const pods = (await api.core.listNamespacedPod({ namespace: "default", labelSelector: `app=${name}` })).items;
  const running = pods.filter((p) => p.metadata?.deletionTimestamp === undefined && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  if (running.length === 0) return `a Ready pod of Deployment default/${name} on ${node} (pods: ${pods.map((p) => `${p.metadata?.name} ${p.status?.phase}`).join(", ") || "none"})`;
  const b = await api.policy.readNamespacedPodDisruptionBudget({ name, namespace: "default" });
  const processed = (b.status?.observedGeneration ?? 0) >= (b.metadata?.generation ?? 1);
  if (!processed || b.status?.disruptionsAllowed !== 0 || (b.status?.currentHealthy ?? 0) < 1) {
    return `PodDisruptionBudget default/${name} to allow no disruption of its healthy pod (status: ${JSON.stringify(b.status ?? {})})`;
  }
  return undefined;
}

/** pdb-blocks off: the budget and the Deployment go; the pod terminates through its kubelet. */
export async function removePinned(api: Api, node: string): Promise<void> {
  const name = pinnedName(node);
  await unless(404, api.policy.deleteNamespacedPodDisruptionBudget({ name, namespace: "default" }));
  await unless(404, api.apps.deleteNamespacedDeployment({ name, namespace: "default", propagationPolicy: "Background" }));
}
