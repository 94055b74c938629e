/**
 * Which pods a drain evicts, skips or refuses to touch: the rules of `kubectl drain
 * --ignore-daemonsets`. DaemonSet pods stay (their controller ignores the cordon and would
 * recreate them at once), mirror pods stay (the API cannot delete a static pod), finished pods
 * go without question. A pod that declares no controller, or keeps data in an emptyDir volume,
 * is refused unless the drain policy allows it — and one refusal stops the whole drain before
 * anything is evicted, as kubectl does.
 */
import { isFinished, type PodOnNode } from "../cluster/cluster";
import type { DrainPolicy } from "./spec";

/** Why a drain will not evict a pod on its own; each is lifted by one policy option. */
export type RefusalReason = "no-controller" | "emptydir";

/** What a drain does with one pod. */
export type PodVerdict =
  | { readonly kind: "evict"; readonly pod: PodOnNode; readonly allowedBy: readonly RefusalReason[] }
  | { readonly kind: "skip"; readonly pod: PodOnNode; readonly why: "daemonset" | "mirror" }
  | { readonly kind: "refuse"; readonly pod: PodOnNode; readonly reasons: readonly RefusalReason[] };

/** The inventory option that lifts a refusal, and what setting it costs. */
export const REFUSAL_OPTIONS: Readonly<Record<RefusalReason, { readonly option: keyof DrainPolicy; readonly what: string; readonly cost: string }>> = {
  "no-controller": {
    option: "force",
    what: "declares no controller",
    cost: "nothing recreates it elsewhere",
  },
  emptydir: {
    option: "deleteEmptyDirData",
    what: "has emptyDir volumes",
    cost: "their data is lost",
  },
};

/** The reasons a drain would refuse `pod`, whatever the policy. Finished pods have none. */
export function refusalReasons(pod: PodOnNode): RefusalReason[] {
  if (isFinished(pod.phase)) return [];
  const reasons: RefusalReason[] = [];
  if (pod.owner === "none") reasons.push("no-controller");
  if (pod.emptyDirs.length > 0) reasons.push("emptydir");
  return reasons;
}

/** Judges one pod under `policy`. */
export function judgePod(pod: PodOnNode, policy: DrainPolicy): PodVerdict {
  if (pod.owner === "mirror") return { kind: "skip", pod, why: "mirror" };
  // A finished DaemonSet pod is only a leftover; kubectl deletes it too.
  if (pod.owner === "daemonset" && !isFinished(pod.phase)) return { kind: "skip", pod, why: "daemonset" };
  const reasons = refusalReasons(pod);
  const refused = reasons.filter((r) => !policy[REFUSAL_OPTIONS[r].option]);
  return refused.length > 0 ? { kind: "refuse", pod, reasons: refused } : { kind: "evict", pod, allowedBy: reasons };
}

/** A drain decided before it starts. */
export interface DrainPlan {
  readonly evict: readonly PodOnNode[];
  readonly skip: readonly PodOnNode[];
  readonly refuse: readonly Extract<PodVerdict, { kind: "refuse" }>[];
  /** Evictions that only happen because the policy allows them, to say so in progress. */
  readonly allowed: readonly Extract<PodVerdict, { kind: "evict" }>[];
}

/** Sorts every pod of a node into evict, skip and refuse. */
export function planDrain(pods: readonly PodOnNode[], policy: DrainPolicy): DrainPlan {
  const verdicts = pods.map((p) => judgePod(p, policy));
  const evicts = verdicts.filter((v): v is Extract<PodVerdict, { kind: "evict" }> => v.kind === "evict");
  return {
    evict: evicts.map((v) => v.pod),
    skip: verdicts.filter((v) => v.kind === "skip").map((v) => v.pod),
    refuse: verdicts.filter((v): v is Extract<PodVerdict, { kind: "refuse" }> => v.kind === "refuse"),
    allowed: evicts.filter((v) => v.allowedBy.length > 0),
  };
}

const podName = (p: PodOnNode) => `${p.namespace}/${p.name}`;

/**
 * The refusal as the user reads it: every refused pod with every reason, and the inventory
 * options that would let the drain evict them (fleet-wide or under the host).
 */
export function refusalSummary(node: string, refused: DrainPlan["refuse"]): { summary: string; hint: string } {
  const lines = refused.map((v) => {
    const why = v.reasons.map((r) => {
      const o = REFUSAL_OPTIONS[r];
      return `${o.what}${r === "emptydir" ? ` (${v.pod.emptyDirs.join(", ")})` : ""}, allowed by drain.${o.option}`;
    });
    return `  ${podName(v.pod)}: ${why.join("; ")}`;
  });
  const options = [...new Set(refused.flatMap((v) => v.reasons))].map((r) => REFUSAL_OPTIONS[r]);
  const summary = `refused to drain ${node}, nothing was evicted: ${refused.length} pod${refused.length === 1 ? "" : "s"} cannot be evicted safely\n${lines.join("\n")}`;
  const hint =
    `move or delete these pods yourself, or allow the drain to evict them with ` +
    options.map((o) => `drain.${o.option}: true (${o.cost})`).join(" and ") +
    ` in the inventory, fleet-wide or under the host; then run the rollout again.`;
  return { summary, hint };
}
