/**
 * The rollout of one host over SSH: connect, take the host-side lock, run the steps
 * (hostRollout.ts) through the host's NixOS operations, unlock.
 */
import type { Cluster } from "../cluster/cluster";
import type { Host, HostConnector } from "../host/host";
import { sshOps } from "../nixos/sshOps";
import { RolloutError, inStep } from "./errors";
import { type Previous, rollOutHost } from "./hostRollout";
import type { HostOutputs } from "./outputs";
import type { Progress } from "./progress";
import { breakLock, tryLock, unlock } from "./remote";
import { Session } from "./session";
import type { HostSpec } from "./spec";
import { type Clock, done, notYet, waitUntil, WaitTimeoutError } from "./wait";

/** The side-effecting parts a rollout is given. */
export interface RolloutDeps {
  readonly connector: HostConnector;
  readonly cluster?: Cluster;
  readonly progress: Progress;
  /** Written into the host-side lock so a second rollout can say who holds it. */
  readonly lockOwner: string;
  /** Says whether a lock holder is gone for good (a crashed rollout), so its lock may be broken. */
  readonly lockAbandoned?: (holder: string) => boolean;
  readonly clock?: Clock;
}

export { managedFileNames, plannedFiles, type Previous } from "./hostRollout";

/** Rolls one host out; throws a RolloutError when it stops. */
export async function applyHost(spec: HostSpec, previous: Previous, deps: RolloutDeps): Promise<HostOutputs> {
  const session = new Session(deps.connector, spec.timeouts.connectSeconds * 1000);
  const host = await session.host();
  await takeLock(host, spec, deps);
  try {
    return await rollOutHost(spec, previous, sshOps(session), deps);
  } finally {
    // A host that did not come back cannot be unlocked; that must not hide why the rollout stopped.
    await session
      .host()
      .then((h) => unlock(h, deps.lockOwner))
      .catch(() => undefined);
    await session.close();
  }
}

async function takeLock(host: Host, spec: HostSpec, deps: RolloutDeps): Promise<void> {
  try {
    await waitUntil(
      { what: `the lock on ${spec.name}`, timeoutSeconds: spec.timeouts.lockSeconds, intervalMs: 1000, clock: deps.clock },
      async () => {
        const r = await tryLock(host, deps.lockOwner);
        if (r.acquired) return done(undefined);
        if (deps.lockAbandoned?.(r.holder)) {
          deps.progress(`${spec.name}: taking over the lock left by a rollout that no longer runs (${r.holder})`);
          await breakLock(host);
          return notYet(`was held by ${r.holder}`);
        }
        return notYet(`held by ${r.holder}`);
      },
    );
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new RolloutError(spec.name, "lock", error.message, `another rollout is running on ${spec.name}; if none is, remove /var/lib/nixos-fleet/lock on the host.`);
    }
    throw inStep(spec.name, "lock", error);
  }
}

