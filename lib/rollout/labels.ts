/**
 * Keeping a Node's labels in step with the inventory. k3s applies --node-label only when a
 * Node registers, so later changes go through the API: new and changed labels are set, labels
 * the inventory no longer has (and that this tool set before) are removed. Labels others set
 * are left alone.
 */
import type { Cluster } from "../cluster/cluster";
import type { Progress } from "./progress";

/** What to change on the Node: pure, for tests. */
export function labelChanges(
  previous: Readonly<Record<string, string>>,
  wanted: Readonly<Record<string, string>>,
): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(wanted)) if (previous[k] !== v) set[k] = v;
  const remove = Object.keys(previous).filter((k) => !(k in wanted)).sort();
  return { set, remove };
}

/**
 * Applies the label changes to `node`. A Node that has not registered yet is skipped: k3s
 * gives it the inventory's labels when it registers.
 */
export async function syncNodeLabels(
  cluster: Cluster,
  host: string,
  node: string,
  previous: Readonly<Record<string, string>>,
  wanted: Readonly<Record<string, string>>,
  progress: Progress,
): Promise<void> {
  const { set, remove } = labelChanges(previous, wanted);
  if (Object.keys(set).length === 0 && remove.length === 0) return;
  if (!(await cluster.getNode(node))) {
    progress(`${host}: Node ${node} has not registered yet; k3s labels it when it does`);
    return;
  }
  await cluster.setNodeLabels(node, set, remove);
  const parts = [...Object.entries(set).map(([k, v]) => `${k}=${v}`), ...remove.map((k) => `${k}-`)];
  progress(`${host}: labelled Node ${node} ${parts.join(" ")}`);
}
