/**
 * The API clients the simulated kubelets and the seeding use, from the admin kubeconfig, with
 * a deadline on every request.
 */
import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, PatchStrategy, PolicyV1Api, setHeaderOptions } from "@kubernetes/client-node";

/** The API groups used here. */
export interface Api {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly policy: PolicyV1Api;
  readonly coordination: CoordinationV1Api;
}

/** Clients for the cluster of `kubeconfigYaml` (its current context). */
export function apiOf(kubeconfigYaml: string): Api {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml);
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

/** Options of a JSON merge patch. */
export const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** The HTTP status of a client-node error, or undefined for anything else. */
export function statusOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Awaits `p`; resolves undefined when the API answered `status` (404 for gone, 409 for exists). */
export async function unless<T>(status: number, p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (statusOf(e) === status) return undefined;
    throw e;
  }
}
