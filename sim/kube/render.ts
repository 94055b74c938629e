/**
 * Nodes and Pods rendered as core/v1 objects with the fields real clients read, and the
 * selectable fields the field selectors match on.
 */
import { KUBE_VERSION, NODE_INFO, SIM_KUBE_DEFAULTS, TAINTS } from "./constants";
import type { NodeRecord, ObjectMeta, PodRecord, PodTemplate, Taint } from "./model";
import { nodeIP } from "./pods";

type Obj = Record<string, unknown>;

/** metadata as the API returns it (empty label/annotation maps left out). */
export function renderMeta(meta: ObjectMeta, extra: Obj = {}): Obj {
  return {
    name: meta.name,
    ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
    ...(meta.generation === undefined ? {} : { generation: meta.generation }),
    creationTimestamp: meta.creationTimestamp,
    ...(Object.keys(meta.labels).length === 0 ? {} : { labels: { ...meta.labels } }),
    ...(Object.keys(meta.annotations).length === 0 ? {} : { annotations: { ...meta.annotations } }),
    ...extra,
  };
}

/** Taints the node lifecycle controller keeps in sync with the Ready condition and cordon. */
export function nodeTaints(n: NodeRecord): Taint[] {
  const taints: Taint[] = [...n.userTaints];
  if (n.unschedulable) taints.push({ key: TAINTS.unschedulable, effect: "NoSchedule", ...(n.cordonedAt ? { timeAdded: n.cordonedAt } : {}) });
  const lifecycle = n.ready.status === "False" ? TAINTS.notReady : n.ready.status === "Unknown" ? TAINTS.unreachable : undefined;
  if (lifecycle !== undefined) {
    taints.push({ key: lifecycle, effect: "NoSchedule" }, { key: lifecycle, effect: "NoExecute", timeAdded: n.ready.since });
  }
  return taints;
}

function pressureConditions(n: NodeRecord): Obj[] {
  const known = n.ready.status !== "Unknown";
  const c = (type: string, reason: string, message: string): Obj => ({
    type,
    status: known ? "False" : "Unknown",
    lastHeartbeatTime: n.ready.since,
    lastTransitionTime: n.ready.since,
    reason: known ? reason : n.ready.reason,
    message: known ? message : n.ready.message,
  });
  return [
    c("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    c("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    c("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
  ];
}

/** A core/v1 Node as the kubelet and node controller keep it. */
export function renderNode(n: NodeRecord): Obj {
  const taints = nodeTaints(n);
  const capacity = { cpu: "4", "ephemeral-storage": "102626232Ki", memory: "16318704Ki", pods: "110" };
  return {
    kind: "Node",
    apiVersion: "v1",
    metadata: renderMeta(n.meta),
    spec: {
      podCIDR: `10.244.${n.index}.0/24`,
      podCIDRs: [`10.244.${n.index}.0/24`],
      ...(n.unschedulable ? { unschedulable: true } : {}),
      ...(taints.length === 0 ? {} : { taints }),
    },
    status: {
      capacity,
      allocatable: { ...capacity, "ephemeral-storage": "94580335255", memory: "16216304Ki" },
      conditions: [
        ...pressureConditions(n),
        {
          type: "Ready",
          status: n.ready.status,
          lastHeartbeatTime: n.ready.since,
          lastTransitionTime: n.ready.since,
          reason: n.ready.reason,
          message: n.ready.message,
        },
      ],
      addresses: [
        { type: "InternalIP", address: n.address },
        { type: "Hostname", address: n.meta.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: n.meta.uid.replace(/-/g, ""),
        systemUUID: n.meta.uid,
        bootID: n.bootId,
        kernelVersion: NODE_INFO.kernelVersion,
        osImage: NODE_INFO.osImage,
        containerRuntimeVersion: NODE_INFO.containerRuntimeVersion,
        kubeletVersion: KUBE_VERSION.gitVersion,
        kubeProxyVersion: KUBE_VERSION.gitVersion,
        operatingSystem: NODE_INFO.operatingSystem,
        architecture: NODE_INFO.architecture,
      },
    },
  };
}

/** Fields a node fieldSelector can name. */
export const NODE_FIELDS: ReadonlySet<string> = new Set(["metadata.name", "spec.unschedulable"]);

/** The values of NODE_FIELDS for one node. */
export function nodeFields(n: NodeRecord): Record<string, string> {
  return { "metadata.name": n.meta.name, "spec.unschedulable": String(n.unschedulable) };
}

const PRIORITY: Readonly<Record<string, number>> = { "system-node-critical": 2000001000, "system-cluster-critical": 2000000000 };

function tolerations(t: PodTemplate): Obj[] {
  if (t.daemon) {
    return [
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
      { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
      { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
      { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
      { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
    ];
  }
  return [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
  ];
}

/** A pod spec for a template (and, for a pod, the node it is bound to). */
export function renderPodSpec(t: PodTemplate, nodeName?: string): Obj {
  return {
    volumes: [
      ...t.emptyDirs.map((name) => ({ name, emptyDir: {} })),
      { name: "kube-api-access", projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }], defaultMode: 420 } },
    ],
    containers: t.containers.map((c) => ({
      name: c.name,
      image: c.image,
      resources: {},
      volumeMounts: [
        ...t.emptyDirs.map((name) => ({ name, mountPath: `/${name}` })),
        { name: "kube-api-access", readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" },
      ],
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
      imagePullPolicy: "IfNotPresent",
    })),
    restartPolicy: "Always",
    terminationGracePeriodSeconds: SIM_KUBE_DEFAULTS.terminationGracePeriodSeconds,
    dnsPolicy: t.hostNetwork ? "ClusterFirstWithHostNet" : "ClusterFirst",
    ...(t.nodeSelector === undefined ? {} : { nodeSelector: { ...t.nodeSelector } }),
    serviceAccountName: "default",
    serviceAccount: "default",
    ...(nodeName === undefined ? {} : { nodeName }),
    ...(t.hostNetwork ? { hostNetwork: true } : {}),
    securityContext: {},
    schedulerName: "default-scheduler",
    tolerations: tolerations(t),
    ...(t.priorityClassName === undefined ? {} : { priorityClassName: t.priorityClassName }),
    priority: PRIORITY[t.priorityClassName ?? ""] ?? 0,
    enableServiceLinks: true,
    preemptionPolicy: "PreemptLowerPriority",
  };
}

function podConditions(p: PodRecord): Obj[] {
  const unready = p.template.containers.map((c) => c.name).join(" ");
  const cond = (type: string, ok: boolean, since: string): Obj => ({
    type,
    status: ok ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: since,
    ...(ok ? {} : { reason: "ContainersNotReady", message: `containers with unready status: [${unready}]` }),
  });
  return [
    cond("PodReadyToStartContainers", true, p.startTime),
    cond("Initialized", true, p.startTime),
    cond("Ready", p.ready, p.readySince),
    cond("ContainersReady", p.ready, p.readySince),
    cond("PodScheduled", true, p.startTime),
  ];
}

/** A core/v1 Pod; `node` supplies hostIP (absent once the Node is deleted). */
export function renderPod(p: PodRecord, node: NodeRecord | undefined): Obj {
  const hostIP = node === undefined ? undefined : nodeIP(node);
  const owner = p.owner === undefined ? {} : {
    ownerReferences: [{ ...p.owner, controller: true, ...(p.mirror ? {} : { blockOwnerDeletion: true }) }],
  };
  const generateName = p.owner !== undefined && !p.mirror && p.ordinal === undefined ? { generateName: `${p.owner.name}-` } : {};
  const deletion = p.deletion === undefined ? {} : {
    deletionTimestamp: p.deletion.timestamp,
    deletionGracePeriodSeconds: p.deletion.graceSeconds,
  };
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: renderMeta(p.meta, { ...generateName, ...deletion, ...owner }),
    spec: renderPodSpec(p.template, p.nodeName),
    status: {
      phase: "Running",
      conditions: podConditions(p),
      ...(hostIP === undefined ? {} : { hostIP, hostIPs: [{ ip: hostIP }] }),
      podIP: p.podIP,
      podIPs: [{ ip: p.podIP }],
      startTime: p.startTime,
      containerStatuses: p.template.containers.map((c, i) => ({
        name: c.name,
        state: { running: { startedAt: p.containersStarted } },
        ready: p.ready,
        restartCount: p.restartCount,
        image: c.image,
        imageID: `${c.image.split(":")[0]}@sha256:${p.meta.uid.replace(/-/g, "").padEnd(64, "0")}`,
        containerID: `containerd://${p.meta.uid.replace(/-/g, "")}${String(i).padStart(32, "0")}`,
        started: true,
      })),
      qosClass: "BestEffort",
    },
  };
}

/** Fields a pod fieldSelector can name. */
export const POD_FIELDS: ReadonlySet<string> = new Set([
  "metadata.name",
  "metadata.namespace",
  "spec.nodeName",
  "spec.restartPolicy",
  "spec.schedulerName",
  "spec.serviceAccountName",
  "spec.hostNetwork",
  "status.phase",
  "status.podIP",
  "status.nominatedNodeName",
]);

/** The values of POD_FIELDS for one pod. */
export function podFields(p: PodRecord): Record<string, string> {
  return {
    "metadata.name": p.meta.name,
    "metadata.namespace": p.meta.namespace ?? "",
    "spec.nodeName": p.nodeName,
    "spec.restartPolicy": "Always",
    "spec.schedulerName": "default-scheduler",
    "spec.serviceAccountName": "default",
    "spec.hostNetwork": String(p.template.hostNetwork),
    "status.phase": "Running",
    "status.podIP": p.podIP,
    "status.nominatedNodeName": "",
  };
}
