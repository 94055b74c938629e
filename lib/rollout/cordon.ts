/**
 * Who cordoned a node, recorded on the Node itself so that every rollout — this one, or a
 * later one after this one failed — restores exactly the state it found: a cordon the rollout
 * set is lifted once the host is healthy; a cordon an operator set before stays.
 *
 * The record is two annotations written in the same patch as spec.unschedulable, so there is
 * never a rollout cordon without its record, nor a record left on a schedulable node.
 */
import type { Cluster, NodeState } from "../cluster/cluster";
import { RolloutError, inStep } from "./errors";
import type { Progress } from "./progress";

/** Set by the rollout that cordoned the node: who it was (the rollout's lock owner). */
export const CORDONED_BY_ANNOTATION = "nixos-fleet.dev/cordoned-by";
/** When that rollout cordoned it (ISO 8601). */
export const CORDONED_AT_ANNOTATION = "nixos-fleet.dev/cordoned-at";

/** A node's cordon as found on the Node. */
export type Cordon =
  /** Schedulable. */
  | { readonly kind: "none" }
  /** Cordoned by a rollout of this tool: this one, or an earlier one that stopped before uncordoning. */
  | { readonly kind: "rollout"; readonly by: string; readonly at: string }
  /** Cordoned by someone else (an operator, another tool): never ours to lift. */
  | { readonly kind: "operator" };

/** Reads a node's cordon from spec.unschedulable and our annotations. */
export function cordonOf(node: Pick<NodeState, "unschedulable" | "annotations">): Cordon {
  if (!node.unschedulable) return { kind: "none" };
  const by = node.annotations[CORDONED_BY_ANNOTATION];
  if (by === undefined) return { kind: "operator" };
  return { kind: "rollout", by, at: node.annotations[CORDONED_AT_ANNOTATION] ?? "" };
}

/** Whether the rollout may lift this cordon. */
export function isRolloutCordon(c: Cordon): c is Extract<Cordon, { kind: "rollout" }> {
  return c.kind === "rollout";
}

/** Where a cordon call applies. */
export interface CordonTarget {
  readonly host: string;
  readonly node: string;
  readonly progress: Progress;
}

/**
 * Cordons `node` for a drain and returns the cordon it found. A schedulable node is cordoned
 * and marked as the rollout's (`owner`, `now`); a cordoned one is left exactly as it is, so an
 * operator's cordon stays the operator's and an earlier rollout's keeps its record.
 */
export async function cordonForRollout(cluster: Cluster, t: CordonTarget & { readonly owner: string; readonly now: Date }): Promise<Cordon> {
  const node = await cluster.getNode(t.node);
  if (node === undefined) throw new RolloutError(t.host, "drain", `the Node ${t.node} does not exist`, `check the host's nodeName in the inventory (kubectl get nodes).`);
  const found = cordonOf(node);
  if (found.kind === "none") {
    await cluster.setUnschedulable(t.node, true, { [CORDONED_BY_ANNOTATION]: t.owner, [CORDONED_AT_ANNOTATION]: t.now.toISOString() });
  } else if (found.kind === "operator") {
    t.progress(`${t.host}: Node ${t.node} was already cordoned, not by a rollout; the rollout will not uncordon it`);
  } else {
    t.progress(`${t.host}: Node ${t.node} is still cordoned by an earlier rollout (${found.by}, at ${found.at}); its record is kept`);
  }
  return found;
}

/** What releaseCordon did. */
export type Release =
  | "uncordoned"
  /** Cordoned, but not by a rollout: left alone. */
  | "kept-operator-cordon"
  | "not-cordoned"
  | "no-node";

/**
 * Restores the node's earlier state: lifts the cordon only if a rollout set it (this run or an
 * earlier one that failed), removing the record in the same patch. Idempotent; safe to call on a
 * node this run never cordoned. Says in progress what it did when it did something.
 */
export async function releaseCordon(cluster: Cluster, t: CordonTarget): Promise<Release> {
  const node = await cluster.getNode(t.node);
  if (node === undefined) return "no-node";
  const c = cordonOf(node);
  if (c.kind === "none") {
    // A record on a schedulable node (someone uncordoned by hand) is stale: drop it quietly.
    if (node.annotations[CORDONED_BY_ANNOTATION] !== undefined || node.annotations[CORDONED_AT_ANNOTATION] !== undefined) {
      await cluster.setUnschedulable(t.node, false, { [CORDONED_BY_ANNOTATION]: null, [CORDONED_AT_ANNOTATION]: null });
    }
    return "not-cordoned";
  }
  if (c.kind === "operator") {
    t.progress(`${t.host}: left Node ${t.node} cordoned, as it was before the rollout`);
    return "kept-operator-cordon";
  }
  await cluster.setUnschedulable(t.node, false, { [CORDONED_BY_ANNOTATION]: null, [CORDONED_AT_ANNOTATION]: null });
  t.progress(`uncordoned ${t.host}`);
  return "uncordoned";
}

/** The sentence that says where the node was left, for a message about the host. */
export function releaseSentence(node: string, r: Release): string {
  switch (r) {
    case "uncordoned":
      return `${node} was uncordoned`;
    case "kept-operator-cordon":
      return `${node} stays cordoned, as it was before the rollout`;
    case "not-cordoned":
      return `${node} is not cordoned`;
    case "no-node":
      return `the Node ${node} no longer exists`;
  }
}

/**
 * After a drain failed before the reboot: restores the node's cordon state and returns the
 * drain's error with a hint that says truthfully where the node was left and that the host was
 * not rebooted. A failure to uncordon is reported, not hidden.
 */
export async function releaseAfterFailedDrain(cluster: Cluster, t: CordonTarget, error: unknown): Promise<RolloutError> {
  const cause = inStep(t.host, "drain", error);
  let where: string;
  try {
    where = `${releaseSentence(t.node, await releaseCordon(cluster, t))} and the host was not rebooted.`;
  } catch (releaseError) {
    const why = releaseError instanceof Error ? releaseError.message : String(releaseError);
    where = `the host was not rebooted, but ${t.node} could not be uncordoned (${why}); run kubectl uncordon ${t.node} once the API server answers.`;
  }
  const hint = cause.hint === undefined ? where : `${cause.hint} ${where}`;
  return new RolloutError(cause.host, cause.step, cause.summary, hint, cause.failure, cause);
}
