/**
 * Cordon and drain through the Eviction API, the way `kubectl drain --ignore-daemonsets` does
 * it: the pods are judged first (drainPlan.ts) and a drain that would lose a pod nothing
 * recreates, or a pod's emptyDir data, is refused before anything is evicted unless the drain
 * policy allows it; a 429 from a PodDisruptionBudget is retried as soon as the budget's status
 * allows a disruption again, and at the latest after 5 seconds (kubectl's fixed pacing), until
 * the deadline; and the drain is over only when every evicted pod is gone (by uid:
 * a replacement with the same name does not count).
 *
 * The drain never uncordons: its caller decides what happens to the node afterwards (see
 * cordon.ts), so no message of the drain says where the node was left.
 */
import type { Cluster, PodOnNode, PodRef } from "../cluster/cluster";
import { type Cordon, cordonForRollout } from "./cordon";
import { planDrain, refusalSummary, REFUSAL_OPTIONS, type DrainPlan } from "./drainPlan";
import { RolloutError } from "./errors";
import type { Progress } from "./progress";
import type { DrainPolicy, HostSpec } from "./spec";
import { type Clock, done, notYet, realClock, waitUntil, WaitTimeoutError } from "./wait";

/** How often a drain asks again. */
export const DRAIN_PACING = {
  /** The longest wait after a 429 from a PodDisruptionBudget (kubectl's EvictErrorRetryDelay). */
  evictionRetryMs: 5_000,
  /** How often a refusing budget's status is read meanwhile: a replacement pod that becomes Ready frees it. */
  budgetPollMs: 250,
  /** While evicted pods terminate (one list of the Node's pods each time). */
  terminationPollMs: 250,
} as const;

/** Who cordons when the caller does not say. */
export const DEFAULT_CORDON_OWNER = "nixos-fleet";

export interface DrainOptions {
  readonly host: string;
  readonly node: string;
  readonly timeoutSeconds: number;
  /** What may be evicted beyond kubectl's defaults; absent: nothing (kubectl without --force and --delete-emptydir-data). */
  readonly policy?: DrainPolicy;
  /** Recorded on the Node with the cordon, e.g. the rollout's lock owner. */
  readonly owner?: string;
  readonly clock?: Clock;
  readonly progress: Progress;
}

/** What a drain did. */
export interface DrainResult {
  /** The node's cordon before the drain; "none" means this drain cordoned it. */
  readonly cordonBefore: Cordon;
  readonly evicted: number;
}

/**
 * The drain of a host's Node in a rollout: the host's drain policy and deadline, and the
 * rollout (its lock owner) as the cordon's owner.
 */
export function drainOptionsOf(
  spec: Pick<HostSpec, "name" | "drain" | "timeouts">,
  node: string,
  rollout: { readonly lockOwner: string; readonly clock?: Clock; readonly progress: Progress },
): DrainOptions {
  return {
    host: spec.name,
    node,
    timeoutSeconds: spec.timeouts.drainSeconds,
    policy: spec.drain,
    owner: rollout.lockOwner,
    ...(rollout.clock === undefined ? {} : { clock: rollout.clock }),
    progress: rollout.progress,
  };
}

const podName = (p: PodRef) => `${p.namespace}/${p.name}`;

function refuseIfAny(o: DrainOptions, plan: DrainPlan): void {
  if (plan.refuse.length === 0) return;
  const { summary, hint } = refusalSummary(o.node, plan.refuse);
  throw new RolloutError(o.host, "drain", summary, hint);
}

/**
 * Cordons `node` (recording the cordon as the rollout's unless it was cordoned already) and
 * evicts its pods. Throws a RolloutError of step "drain" when pods must not be evicted (before
 * cordoning when that is already clear), and at the deadline.
 */
export async function cordonAndDrain(cluster: Cluster, o: DrainOptions): Promise<DrainResult> {
  const clock = o.clock ?? realClock;
  const deadline = clock.now() + o.timeoutSeconds * 1000;
  const policy: DrainPolicy = { force: o.policy?.force === true, deleteEmptyDirData: o.policy?.deleteEmptyDirData === true };
  // Judge first, so a refused drain leaves the node exactly as it was.
  refuseIfAny(o, planDrain(await cluster.listPodsOnNode(o.node), policy));
  const cordonBefore = await cordonForRollout(cluster, { host: o.host, node: o.node, owner: o.owner ?? DEFAULT_CORDON_OWNER, now: new Date(clock.now()), progress: o.progress });
  o.progress(`draining ${o.host}`);
  // Pods may have landed between the first look and the cordon.
  const plan = planDrain(await cluster.listPodsOnNode(o.node), policy);
  refuseIfAny(o, plan);
  for (const v of plan.allowed) {
    const why = v.allowedBy.map((r) => `${REFUSAL_OPTIONS[r].what} (drain.${REFUSAL_OPTIONS[r].option})`).join(" and ");
    o.progress(`${o.host}: evicting ${podName(v.pod)}, which ${why}`);
  }
  const evicted = await evictAll(cluster, plan.evict, o, deadline, clock);
  await waitGone(cluster, evicted, o, deadline, clock);
  o.progress(`${o.host} drained (${evicted.length} pods evicted)`);
  return { cordonBefore, evicted: evicted.length };
}

interface Blocked {
  readonly pod: PodOnNode;
  readonly message: string;
  readonly budget?: string;
}

const blockedLine = (b: Blocked) =>
  `${podName(b.pod)} blocked${b.budget === undefined ? "" : ` by PodDisruptionBudget ${b.pod.namespace}/${b.budget}`}: ${b.message}`;

/**
 * Evicts every pod; each one a budget protects is asked again evictionRetryMs after it was
 * refused, or as soon as its own budget allows a disruption, until the deadline. The cadence is
 * per pod: another budget freeing up does not ask again for a pod its budget still protects.
 */
async function evictAll(cluster: Cluster, pods: readonly PodOnNode[], o: DrainOptions, deadline: number, clock: Clock): Promise<PodOnNode[]> {
  const pending = new Map(pods.map((p) => [p.uid, p]));
  const blocked = new Map<string, Blocked>();
  /** When each refused pod is to be asked again (absent: now). */
  const due = new Map<string, number>();
  const evicted: PodOnNode[] = [];
  for (;;) {
    for (const pod of [...pending.values()]) {
      if ((due.get(pod.uid) ?? 0) > clock.now()) continue;
      const r = await cluster.evictPod(pod);
      if (r.kind === "blocked") {
        const b: Blocked = { pod, message: r.message, ...(r.budget === undefined ? {} : { budget: r.budget }) };
        if (blocked.get(pod.uid)?.message !== r.message) o.progress(`${o.host}: ${blockedLine(b)}; asking again when the budget allows it, at most ${DRAIN_PACING.evictionRetryMs / 1000}s later`);
        blocked.set(pod.uid, b);
        due.set(pod.uid, clock.now() + DRAIN_PACING.evictionRetryMs);
        continue;
      }
      pending.delete(pod.uid);
      blocked.delete(pod.uid);
      due.delete(pod.uid);
      if (r.kind === "evicted") evicted.push(pod);
    }
    if (pending.size === 0) return evicted;
    // The next ask would come at or after the deadline: wait for it, then give up (an ask
    // squeezed in at the deadline itself would depend on timer rounding).
    const next = Math.min(...[...pending.keys()].map((uid) => due.get(uid) ?? 0));
    if (next >= deadline) {
      const left = deadline - clock.now();
      if (left > 0) await clock.sleep(left);
      throw evictionTimeout(o, [...blocked.values()], pending.size);
    }
    const freed = await untilABudgetAllows(cluster, [...blocked.values()], clock, next - clock.now());
    for (const b of blocked.values()) if (b.budget !== undefined && freed.has(`${b.pod.namespace}/${b.budget}`)) due.delete(b.pod.uid);
  }
}

/**
 * Waits up to `maxMs` for budgets behind the refusals to allow a disruption again (their
 * controller saw a replacement become Ready); returns those that do ("namespace/name"), empty
 * when the wait ran out. Refusals that named no budget, or budgets that cannot be read (not
 * allowed, or the read failed), leave only the full wait.
 */
async function untilABudgetAllows(cluster: Cluster, blocked: readonly Blocked[], clock: Clock, maxMs: number): Promise<Set<string>> {
  const until = clock.now() + maxMs;
  const budgets = new Map(blocked.flatMap((b) => (b.budget === undefined ? [] : [[`${b.pod.namespace}/${b.budget}`, { namespace: b.pod.namespace, name: b.budget }] as const])));
  for (;;) {
    const left = until - clock.now();
    if (left <= 0) return new Set();
    if (budgets.size === 0) {
      await clock.sleep(left);
      return new Set();
    }
    await clock.sleep(Math.min(DRAIN_PACING.budgetPollMs, left));
    const freed = new Set<string>();
    for (const [key, b] of [...budgets]) {
      // Reading the budget only shortens the wait: a read that fails leaves the full wait, not a failed drain.
      const allowed = await cluster.disruptionsAllowed(b.namespace, b.name).catch(() => undefined);
      if (allowed === undefined) budgets.delete(key);
      else if (allowed > 0) freed.add(key);
    }
    if (freed.size > 0) return freed;
  }
}

function evictionTimeout(o: DrainOptions, blocked: readonly Blocked[], pending: number): RolloutError {
  const seen = blocked.length > 0 ? blocked.map(blockedLine).join("; ") : `${pending} pods left`;
  const wait = new WaitTimeoutError(`pods on ${o.node} to be evicted`, o.timeoutSeconds, seen);
  const budgets = [...new Set(blocked.filter((b) => b.budget !== undefined).map((b) => `${b.pod.namespace}/${b.budget}`))];
  const forbids = budgets.length === 0 ? "a PodDisruptionBudget forbids" : `the PodDisruptionBudget${budgets.length === 1 ? "" : "s"} ${budgets.join(", ")} forbid${budgets.length === 1 ? "s" : ""}`;
  return new RolloutError(
    o.host,
    "drain",
    wait.message,
    `${forbids} evicting ${blocked.map((b) => podName(b.pod)).join(", ")}; scale the workload up, relax its budget, ` +
      `or raise timeouts.drainSeconds, then run the rollout again.`,
    undefined,
    wait,
  );
}

/**
 * Waits until every evicted pod is gone (matched by uid), polling like kubectl. A Node that is
 * not Ready has no kubelet to finish them: its evicted pods stay Terminating until it runs
 * again, so they are not waited for (kubectl drain --skip-wait-for-delete-timeout does the same
 * for pods deleted long ago); the evictions themselves went through their budgets.
 */
async function waitGone(cluster: Cluster, evicted: readonly PodRef[], o: DrainOptions, deadline: number, clock: Clock): Promise<void> {
  const left = Math.max(1, (deadline - clock.now()) / 1000);
  try {
    await waitUntil(
      { what: `evicted pods to terminate on ${o.node}`, timeoutSeconds: left, intervalMs: DRAIN_PACING.terminationPollMs, clock },
      async () => {
        const present = new Set((await cluster.listPodsOnNode(o.node)).map((p) => p.uid));
        const alive = evicted.filter((p) => present.has(p.uid)).map(podName);
        if (alive.length === 0) return done(undefined);
        if ((await cluster.getNode(o.node))?.ready === false) {
          o.progress(`${o.host}: ${o.node} is not Ready, so no kubelet finishes its evicted pods (${alive.join(", ")}); not waiting for them to terminate`);
          return done(undefined);
        }
        return notYet(`still terminating: ${alive.join(", ")}`);
      },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw new RolloutError(
      o.host,
      "drain",
      error.message,
      `find out why the pods on ${o.node} do not terminate (kubectl get pods -A --field-selector spec.nodeName=${o.node}), then run the rollout again.`,
      undefined,
      error,
    );
  }
}
