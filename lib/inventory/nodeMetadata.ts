/**
 * What the program sets on each host's Kubernetes Node: the inventory's labels and taints.
 * They go through the API (a NodePatch per host, providers/nodes.ts) once the host's rollout
 * has passed its gates, not through k3s flags: k3s applies --node-label and --node-taint only
 * when a Node registers, and what it sets there is owned by the kubelet, so a later removal
 * from the inventory could never take it off again.
 */
import type { HostSpec } from "../rollout/spec";
import type { TAINT_EFFECTS } from "./schema";
import type { Inventory } from "./types";

/** An effect a taint has on Pods that do not tolerate it. */
export type TaintEffect = (typeof TAINT_EFFECTS)[number];

/** One taint of a Node. */
export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: TaintEffect;
}

/** The labels and taints this program owns on one host's Node. */
export interface NodeMetadata {
  /** The host (inventory name), whose rollout must pass before its Node is touched. */
  readonly host: string;
  /** The Node's name, as the rollout drains and watches it. */
  readonly nodeName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly NodeTaint[];
}

/**
 * The Node metadata of every host the rollout treats as a Kubernetes node (it has a
 * kubeconfig to reach the cluster), in the order of `specs`. A host with neither labels nor
 * taints gets none: there is nothing to own, and removing a host's last label or taint
 * deletes its patch, which releases them.
 */
export function planNodeMetadata(inv: Inventory, specs: readonly HostSpec[]): NodeMetadata[] {
  const byName = new Map(inv.hosts.map((h) => [h.name, h]));
  const out: NodeMetadata[] = [];
  for (const spec of specs) {
    const host = byName.get(spec.name);
    if (spec.kubernetes === undefined || host === undefined) continue;
    const labels = { ...host.labels };
    const taints = host.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect }));
    if (Object.keys(labels).length === 0 && taints.length === 0) continue;
    out.push({ host: spec.name, nodeName: spec.kubernetes.nodeName, labels, taints });
  }
  return out;
}
