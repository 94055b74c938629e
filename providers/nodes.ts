/**
 * The hosts' Node labels and taints as Kubernetes resources: one NodePatch per host
 * (lib/inventory/nodeMetadata.ts), applied server-side under a field manager of our own, so
 * the program owns exactly the labels and taints of the inventory. Labels others set on the
 * Node are left alone, and one the inventory drops is removed by the next apply. Each patch
 * depends on its host's rollout: a Node is labelled (or tainted) only once its host passed
 * its gates.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NodeMetadata } from "../lib/inventory/nodeMetadata";

/** The field manager whose fields on the Nodes are this program's. */
export const NODE_FIELD_MANAGER = "nixos-fleet";

/**
 * What one NodePatch sends: pure, for tests. The taints are sent only when the host has some:
 * the API server keeps a Node's taints as one list, and owning an empty one would wipe taints
 * others set. Forcing resolves conflicts with other managers in the inventory's favour, for
 * the keys the inventory names only (and, for taints, the list).
 */
export function nodePatchArgs(node: NodeMetadata): k8s.core.v1.NodePatchArgs {
  return {
    metadata: {
      name: node.nodeName,
      labels: { ...node.labels },
      annotations: { "pulumi.com/patchFieldManager": NODE_FIELD_MANAGER, "pulumi.com/patchForce": "true" },
    },
    ...(node.taints.length > 0 ? { spec: { taints: node.taints.map((t) => ({ ...t })) } } : {}),
  };
}

/**
 * Declares the Kubernetes provider for the fleet's cluster, from the kubeconfig (a secret),
 * and one NodePatch per entry of `nodes`, each depending on its host's resource in `hosts`.
 */
export function patchNodes(
  nodes: readonly NodeMetadata[],
  hosts: ReadonlyMap<string, pulumi.Resource>,
  kubeconfig: string,
  opts?: pulumi.CustomResourceOptions,
): k8s.core.v1.NodePatch[] {
  if (nodes.length === 0) return [];
  // Loaded here, not on import: a fleet without Nodes to patch does not pay for the package's
  // hundreds of modules in every preview (README.md "Fleets of hundreds").
  const kubernetes = require("@pulumi/kubernetes") as typeof k8s;
  const provider = new kubernetes.Provider(
    "fleet-cluster",
    // Server-side apply is what lets a patch own, and give up, single labels. A changed
    // kubeconfig (a rotated certificate) updates the provider instead of replacing every patch.
    { kubeconfig: pulumi.secret(kubeconfig), enableServerSideApply: true, clusterIdentifier: "nixos-fleet" },
    opts,
  );
  return nodes.map((node) => {
    const host = hosts.get(node.host);
    if (host === undefined) throw new Error(`no host resource for ${node.host}, whose Node is to be patched`);
    return new kubernetes.core.v1.NodePatch(node.host, nodePatchArgs(node), { ...opts, provider, dependsOn: [host] });
  });
}
