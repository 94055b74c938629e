/**
 * The rollout of one host over SSH: take a slot of the fleet lease (within the budget and the
 * host's disruption group) and the host-side lock, finish what an
 * interrupted rollout left, run the steps (hostRollout.ts) through the host's NixOS operations,
 * then release the lock and the lease.
 */
import type { Cluster } from "../cluster/cluster";
import { FleetLease, leaseIdentity } from "../cluster/lease";
import type { HostConnector } from "../host/host";
import type { NixosOps } from "../nixos/ops";
import { sshOps } from "../nixos/sshOps";
import { type Previous, rollOutHost } from "./hostRollout";
import { checkpoint, resumeInterrupted } from "./interrupt";
import { HostLock } from "./lock";
import type { LockOwner } from "./lockRecord";
import type { HostOutputs } from "./outputs";
import type { Progress } from "./progress";
import { Session } from "./session";
import type { HostSpec } from "./spec";
import type { Clock } from "./wait";

/** The side-effecting parts a rollout is given. */
export interface RolloutDeps {
  readonly connector: HostConnector;
  readonly cluster?: Cluster;
  readonly progress: Progress;
  /** This rollout process, written into the host-side lock, the fleet lease and a cordon it sets. */
  readonly owner: LockOwner;
  /** Whether a pid of this machine still runs: a lock of a process that is gone is taken over at once. */
  readonly isAlive: (pid: number) => boolean;
  readonly clock?: Clock;
  /** Aborted when the rollout must stop at its next safe point (its Pulumi CLI went away). */
  readonly signal?: AbortSignal;
}

export { managedFileNames, plannedFiles, type Previous } from "./hostRollout";

/** How a rollout names itself on what it leaves behind (a cordon's record). */
export function ownerName(owner: LockOwner): string {
  return `nixos-fleet rollout by pid ${owner.pid} on ${owner.machine} (${owner.token})`;
}

/**
 * A guard an earlier rollout armed and never confirmed (it stopped midway): this connection is a
 * new one, so the host is reachable and the guard is confirmed. One that fired is reported.
 */
async function settleLeftGuard(ops: NixosOps, host: string, progress: Progress): Promise<void> {
  const outcome = await ops.disarmGuard();
  if (outcome === "disarmed") progress(`${host}: an earlier rollout left its guard armed; this new SSH connection confirms the configuration the host runs`);
  if (outcome === "fired") progress(`${host}: an earlier rollout's guard fired: the host could not be reached on the new configuration and returned to its previous system by itself`);
}

/** Rolls one host out; throws a RolloutError when it stops. */
export async function applyHost(spec: HostSpec, previous: Previous, deps: RolloutDeps): Promise<HostOutputs> {
  checkpoint(deps.signal);
  // The fleet lease first, then the host lock: every rollout takes them in this order.
  const lease = deps.cluster
    ? await FleetLease.take(deps.cluster, {
        host: spec.name,
        identity: leaseIdentity(spec.name, deps.owner.pid, deps.owner.machine, deps.owner.token, spec.kubernetes?.nodeName),
        maxUnavailable: spec.disruption.maxUnavailable,
        group: spec.disruption.group,
        waitSeconds: spec.timeouts.lockSeconds,
        progress: deps.progress,
        clock: deps.clock,
      })
    : undefined;
  try {
    const session = new Session(deps.connector, spec.timeouts.connectSeconds * 1000);
    try {
      const lock = await HostLock.take(session, { host: spec.name, owner: deps.owner, waitSeconds: spec.timeouts.lockSeconds, isAlive: deps.isAlive, progress: deps.progress, clock: deps.clock });
      try {
        const node = spec.kubernetes?.nodeName;
        const ops = sshOps(session);
        await settleLeftGuard(ops, spec.name, deps.progress);
        if (deps.cluster && node) await resumeInterrupted(deps.cluster, ops, { host: spec.name, node, timeouts: spec.timeouts, progress: deps.progress, clock: deps.clock });
        return await rollOutHost(spec, previous, ops, {
          cluster: deps.cluster,
          progress: deps.progress,
          clock: deps.clock,
          lockOwner: ownerName(deps.owner),
          signal: deps.signal,
          // The host cannot be reached to renew its lock while it reboots: make it last that long.
          holdLockFor: (seconds) => lock.holdThrough(seconds),
          othersDisrupting: lease === undefined ? undefined : () => lease.nodesOfOthers(),
        });
      } finally {
        // A host that did not come back cannot be unlocked; that must not hide why the rollout stopped.
        // A stopped rollout tries once, briefly: the host may be rebooting, and then its lock expires by itself.
        await lock.release(deps.signal?.aborted ? spec.timeouts.connectSeconds * 1000 : undefined).catch(() => undefined);
      }
    } finally {
      await session.close();
    }
  } finally {
    await lease?.release().catch(() => undefined);
  }
}
