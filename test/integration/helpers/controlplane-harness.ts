/**
 * Helpers for tests against the real control plane (sim/controlplane): API clients from its
 * kubeconfig, kubectl of the same release, and the few things a kubelet would do that these
 * tests need done by hand (register a Node, renew its Lease, report pods Running and Ready).
 */
import { execFile } from "node:child_process";
import type { Api } from "../../../sim/kubelet/api";
import {
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  type V1Node,
  type V1Pod,
} from "@kubernetes/client-node";

/** The API groups these tests use, for the admin kubeconfig: the simulated kubelets' own clients. */
export { apiOf as clients } from "../../../sim/kubelet/api";
/** The clients of one control plane. */
export type Clients = Api;

/** What a kubectl run left. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs kubectl with the admin kubeconfig; resolves whatever its exit code. */
export function kubectl(bin: string, kubeconfig: string, args: readonly string[], timeoutMs = 60_000): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(bin, ["--kubeconfig", kubeconfig, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? Number((err as { code: number }).code) : -1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Polls `probe` every 200 ms until it returns a value, or fails naming `what` and the last value seen. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : ` (last error: ${String(last)})`}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** The Ready condition of a Node, or undefined. */
export function readyOf(node: V1Node): string | undefined {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

/** Posts a Ready status for a Node, as a kubelet does after each heartbeat. */
export async function postNodeStatus(api: Clients, name: string): Promise<void> {
  const now = new Date();
  await api.core.patchNodeStatus(
    {
      name,
      body: {
        status: {
          conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: now }],
          capacity: { cpu: "4", memory: "8Gi", pods: "110" },
          allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
          nodeInfo: {
            bootID: `boot-${name}-1`, kernelVersion: "6.6.52", osImage: "NixOS 24.11", kubeletVersion: "v1.37.2", kubeProxyVersion: "",
            architecture: "amd64", operatingSystem: "linux", containerRuntimeVersion: "containerd://2.0.0", machineID: name, systemUUID: name,
          },
        },
      },
    },
    merge,
  );
}

/** Registers a Node with a Ready status and creates its Lease in kube-node-lease. */
export async function registerNode(api: Clients, name: string): Promise<void> {
  await api.core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux" } } } });
  await postNodeStatus(api, name);
  await api.coordination.createNamespacedLease({
    namespace: "kube-node-lease",
    body: { metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new V1MicroTime() } },
  });
}

/** Renews a Node's Lease (renewTime now) and resolves with the stored Lease. */
export async function renewLease(api: Clients, name: string) {
  const lease = await api.coordination.readNamespacedLease({ name, namespace: "kube-node-lease" });
  lease.spec = { ...lease.spec, renewTime: new V1MicroTime() };
  return api.coordination.replaceNamespacedLease({ name, namespace: "kube-node-lease", body: lease });
}

/** Reports a bound pod Running with Ready containers, as its kubelet would once they started. */
export async function reportRunning(api: Clients, pod: V1Pod): Promise<void> {
  const now = new Date();
  const name = pod.metadata?.name ?? "";
  const containers = pod.spec?.containers ?? [];
  await api.core.patchNamespacedPodStatus(
    {
      name,
      namespace: pod.metadata?.namespace ?? "default",
      body: {
        status: {
          phase: "Running",
          startTime: now,
          podIP: "10.244.1.10",
          conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({ type, status: "True", lastTransitionTime: now })),
          containerStatuses: containers.map((c) => ({
            name: c.name, image: c.image ?? "", imageID: "", ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
          })),
        },
      },
    },
    merge,
  );
}
