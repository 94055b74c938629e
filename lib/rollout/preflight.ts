/**
 * Before a host is touched: is it, and is the cluster, healthy already? A host that is
 * degraded, or a cluster with a NotReady node, fails the rollout here, before any change, and
 * the message says the trouble was there before: no host is blamed for it.
 */
import type { Cluster } from "../cluster/cluster";
import type { NixosOps } from "../nixos/ops";
import { inStep, RolloutError } from "./errors";
import { waitForGates } from "./health";
import type { Progress } from "./progress";
import { waitForSettle } from "./reboot";
import type { HostSpec } from "./spec";
import type { Clock } from "./wait";

/**
 * Checks the host's systemd state and the health gates, side by side; throws a RolloutError of
 * step "preflight" (the host's own state first when both fail).
 */
export async function checkHealthyBefore(
  spec: HostSpec,
  ops: NixosOps,
  deps: { cluster?: Cluster; progress: Progress; clock?: Clock; othersDisrupting?: () => Promise<readonly string[]> },
): Promise<void> {
  const nothing = `nothing was changed on ${spec.name}`;
  // A host found unhealthy fails the preflight at once: the gates' waits stop with it.
  const stop = new AbortController();
  const settle = async () => {
    try {
      await waitForSettle(ops, spec.name, spec.timeouts.settleSeconds, deps.clock);
    } catch (error) {
      stop.abort(error);
      const cause = inStep(spec.name, "settle", error);
      throw new RolloutError(
        spec.name,
        "preflight",
        `${spec.name} was already unhealthy before the rollout: ${cause.summary}; ${nothing}`,
        "repair the host first (`systemctl --failed`, the journal), then run the rollout again.",
        cause.failure,
        cause,
      );
    }
  };
  const gates = async () => {
    try {
      await waitForGates(spec.gates, deps.cluster, await ops.shell(), {
        host: spec.name,
        timeoutSeconds: spec.timeouts.healthSeconds,
        clock: deps.clock,
        progress: deps.progress,
        othersDisrupting: deps.othersDisrupting,
        ownNode: spec.kubernetes?.nodeName,
        signal: stop.signal,
      });
    } catch (error) {
      const cause = inStep(spec.name, "health", error);
      throw new RolloutError(
        spec.name,
        "preflight",
        `the cluster was already unhealthy before the rollout of ${spec.name}: ${cause.summary}; ${nothing}`,
        "no host of this rollout caused it: bring the cluster back to health first, then run the rollout again.",
        cause.failure,
        cause,
      );
    }
  };
  const [host, cluster] = await Promise.allSettled([settle(), gates()]);
  if (host.status === "rejected") throw host.reason;
  if (cluster.status === "rejected") throw cluster.reason;
}
