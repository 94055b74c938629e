/**
 * Cordon and drain through the Eviction API, the way `kubectl drain --ignore-daemonsets`
 * does it: DaemonSet and mirror pods stay, every other pod is evicted, 429s from
 * PodDisruptionBudgets are retried until the deadline, and the drain is over only when every
 * evicted pod is gone (by uid: a replacement with the same name does not count).
 */
import type { Cluster, PodRef } from "../cluster/cluster";
import { RolloutError } from "./errors";
import type { Progress } from "./progress";
import { type Clock, done, notYet, realClock, waitUntil, WaitTimeoutError } from "./wait";

export interface DrainOptions {
  readonly host: string;
  readonly node: string;
  readonly timeoutSeconds: number;
  readonly clock?: Clock;
  readonly progress: Progress;
}

const podName = (p: PodRef) => `${p.namespace}/${p.name}`;

/** Cordons `node` and evicts its pods; throws a RolloutError of step "drain" at the deadline. */
export async function cordonAndDrain(cluster: Cluster, o: DrainOptions): Promise<void> {
  const clock = o.clock ?? realClock;
  const started = clock.now();
  await cluster.setUnschedulable(o.node, true);
  o.progress(`draining ${o.host}`);
  const pods = (await cluster.listPodsOnNode(o.node)).filter((p) => p.owner === "other");
  const pending = new Map(pods.map((p) => [p.uid, p]));
  const evicted: PodRef[] = [];
  const blockedBy = new Map<string, string>();
  try {
    await waitUntil(
      { what: `pods on ${o.node} to be evicted`, timeoutSeconds: o.timeoutSeconds, intervalMs: 250, clock },
      async () => {
        for (const pod of [...pending.values()]) {
          const result = await cluster.evictPod(pod);
          if (result.kind === "blocked") {
            blockedBy.set(podName(pod), result.message);
            continue;
          }
          pending.delete(pod.uid);
          blockedBy.delete(podName(pod));
          if (result.kind === "evicted") evicted.push(pod);
        }
        if (pending.size === 0) return done(undefined);
        return notYet(
          [...blockedBy.entries()].map(([pod, why]) => `eviction of ${pod} refused: ${why}`).join("; ") ||
            `${pending.size} pods left`,
        );
      },
    );
    const left = Math.max(1, o.timeoutSeconds - (clock.now() - started) / 1000);
    await waitUntil(
      { what: `evicted pods to terminate on ${o.node}`, timeoutSeconds: left, intervalMs: 250, clock },
      async () => {
        const alive: string[] = [];
        for (const pod of evicted) if (await cluster.podExists(pod)) alive.push(podName(pod));
        return alive.length === 0 ? done(undefined) : notYet(`still terminating: ${alive.join(", ")}`);
      },
    );
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      const blocked = [...blockedBy.keys()];
      throw new RolloutError(
        o.host,
        "drain",
        error.message,
        blocked.length > 0
          ? `a PodDisruptionBudget forbids evicting ${blocked.join(", ")}; scale the workload up, relax its budget, ` +
              `or raise timeouts.drainSeconds, then run the rollout again. ${o.node} was uncordoned and not rebooted.`
          : `find out why the pods on ${o.node} do not terminate (kubectl get pods -A --field-selector spec.nodeName=${o.node}), then run the rollout again.`,
      );
    }
    throw error;
  }
  o.progress(`${o.host} drained (${evicted.length} pods evicted)`);
}
