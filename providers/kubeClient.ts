/**
 * The Kubernetes client of the providers. @kubernetes/client-node loads every model of the API
 * when it is first imported: about a second on an idle machine, many more on a busy one. A
 * build run ahead starts that import in the background, so the first host's rollout, which
 * waits for every build, finds the client loaded instead of paying for it after the builds.
 */
import type { Cluster } from "../lib/cluster/cluster";
import type { HostSpec } from "../lib/rollout/spec";

let loading: Promise<unknown> | undefined;

/** Starts importing the Kubernetes client, once per provider process; costs nothing to call again. */
export function preloadKubeClient(): void {
  // A failed import here is reported by the load that needs the client.
  loading ??= import("@kubernetes/client-node").catch(() => undefined);
}

/** The cluster of a host's Kubernetes settings, none without them. */
export async function clusterFor(spec: Pick<HostSpec, "kubernetes">): Promise<Cluster | undefined> {
  if (!spec.kubernetes) return undefined;
  // Loading the module twice at once (import and require) is what Node's require of ES modules refuses.
  await loading;
  const { kubeCluster } = require("../lib/cluster/kube") as typeof import("../lib/cluster/kube");
  return kubeCluster(spec.kubernetes.kubeconfig);
}
