/**
 * The rollout of one host: lock, land the files, rebuild, reboot when needed behind a drain,
 * wait for health, and roll back when the host comes back unhealthy.
 */
import type { Cluster } from "../cluster/cluster";
import { FleetLease, leaseIdentity } from "../cluster/lease";
import { HostConnectionError, type Host, type HostConnector } from "../host/host";
import { cordonAndDrain } from "./drain";
import { RolloutError, inStep } from "./errors";
import { waitForGates } from "./health";
import { decideReboot } from "./decide";
import { type HostOutputs, outputsOf } from "./outputs";
import type { Progress } from "./progress";
import { rebootAndWait } from "./reboot";
import { checkpoint, isInterrupted, resumeInterrupted, stopMidReboot } from "./interrupt";
import { HostLock } from "./lock";
import type { LockOwner } from "./lockRecord";
import { ETC_NIXOS, type LiveFiles, readFiles, readSystemState, run, type SystemState, writeFilesAtomically } from "./remote";
import { syncNodeLabels } from "./labels";
import { rollBack } from "./rollback";
import { Session } from "./session";
import type { HostSpec } from "./spec";
import type { Clock } from "./wait";

/** The side-effecting parts a rollout is given. */
export interface RolloutDeps {
  readonly connector: HostConnector;
  readonly cluster?: Cluster;
  readonly progress: Progress;
  /** This rollout process, written into the host-side lock and the fleet lease. */
  readonly owner: LockOwner;
  /** Whether a pid of this machine still runs: a lock of a process that is gone is taken over at once. */
  readonly isAlive: (pid: number) => boolean;
  readonly clock?: Clock;
  /** Aborted when the rollout must stop at its next safe point (its Pulumi CLI went away). */
  readonly signal?: AbortSignal;
}

/** Files the rollout manages: the rendered ones plus those it managed before (to remove them). */
export function managedFileNames(spec: HostSpec, previouslyManaged: readonly string[]): string[] {
  return [...new Set([...Object.keys(spec.files), ...previouslyManaged])].sort();
}

/** New contents for every managed file; null removes one no longer rendered. */
export function plannedFiles(spec: HostSpec, names: readonly string[]): LiveFiles {
  const out: LiveFiles = {};
  for (const n of names) out[n] = spec.files[n] ?? null;
  return out;
}

/** What the last rollout of the host left: the files it managed and the Node labels it set. */
export interface Previous {
  readonly files: readonly string[];
  readonly nodeLabels: Readonly<Record<string, string>>;
}

/** Rolls one host out; throws a RolloutError when it stops. */
export async function applyHost(spec: HostSpec, previous: Previous, deps: RolloutDeps): Promise<HostOutputs> {
  checkpoint(deps.signal);
  // The fleet lease first, then the host lock: every rollout takes them in this order.
  const lease = deps.cluster
    ? await FleetLease.take(deps.cluster, {
        host: spec.name,
        identity: leaseIdentity(spec.name, deps.owner.pid, deps.owner.machine, deps.owner.token),
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
        if (deps.cluster && node) await resumeInterrupted(deps.cluster, session, { host: spec.name, node, timeouts: spec.timeouts, progress: deps.progress, clock: deps.clock });
        return await applyLocked(spec, previous, session, deps, lock);
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

async function applyLocked(spec: HostSpec, previous: Previous, session: Session, deps: RolloutDeps, lock: HostLock): Promise<HostOutputs> {
  const p = deps.progress;
  checkpoint(deps.signal);
  const names = managedFileNames(spec, previous.files);
  const before = await readSystemState(await session.host());
  const oldFiles = await readFiles(await session.host(), names);
  const newFiles = plannedFiles(spec, names);
  await writeSecrets(await session.host(), spec);
  await writeFilesAtomically(await session.host(), ETC_NIXOS, newFiles, { fileMode: "0644", umask: "022" });
  p(`rebuilding ${spec.name} (nixos-rebuild ${spec.action})`);
  await rebuild(spec, session, oldFiles, p);
  const after = await readSystemState(await session.host());
  const next = spec.action === "test" ? after.current : after.profile;
  const decision = decideReboot(spec.rebootPolicy, spec.action, before.booted, after.current, next);
  p(`${spec.name}: generation ${after.generation}, ${decision.reboot ? "rebooting" : "no reboot"}: ${decision.reason}`);
  const node = spec.kubernetes?.nodeName;
  let booted: { at: Date; state: SystemState } | undefined;
  if (decision.reboot) {
    checkpoint(deps.signal);
    // The host cannot be reached to renew the lock while it reboots: make it last that long.
    const t = spec.timeouts;
    await lock.holdThrough(t.drainSeconds + t.shutdownSeconds + t.bootSeconds + t.settleSeconds + t.readySeconds);
    if (deps.cluster && node) {
      try {
        await cordonAndDrain(deps.cluster, { host: spec.name, node, timeoutSeconds: spec.timeouts.drainSeconds, clock: deps.clock, progress: p });
      } catch (error) {
        await deps.cluster.setUnschedulable(node, false).catch(() => undefined);
        throw inStep(spec.name, "drain", error);
      }
    }
    try {
      checkpoint(deps.signal);
    } catch (error) {
      if (deps.cluster && node) await deps.cluster.setUnschedulable(node, false).catch(() => undefined);
      throw inStep(spec.name, "reboot", error);
    }
    try {
      booted = await rebootAndWait(session, deps.cluster, { host: spec.name, expectSystem: next.system, nodeName: node, timeouts: spec.timeouts, clock: deps.clock, progress: p });
    } catch (error) {
      throw await rollBackAfter(error, spec, before, oldFiles, session, deps, true);
    }
    if (deps.cluster && node) {
      await deps.cluster.setUnschedulable(node, false);
      p(`uncordoned ${spec.name}`);
    }
  }
  try {
    await waitForGates(spec.gates, deps.cluster, await session.host(), { host: spec.name, timeoutSeconds: spec.timeouts.healthSeconds, clock: deps.clock, progress: p });
  } catch (error) {
    const changed = after.current.system !== before.current.system || decision.reboot;
    if (!changed) throw inStep(spec.name, "health", error);
    throw await rollBackAfter(error, spec, before, oldFiles, session, deps, decision.reboot);
  }
  if (deps.cluster && node) await syncNodeLabels(deps.cluster, spec.name, node, previous.nodeLabels, spec.nodeLabels, p);
  // Gates only read the host, so its systems are as last read: after the reboot, or the rebuild.
  return outputsOf(booted?.state ?? after, { rebooted: decision.reboot, at: booted?.at, reason: decision.reason });
}

/** Writes the secret files (mode 0600, outside the Nix store). */
async function writeSecrets(host: Host, spec: HostSpec): Promise<void> {
  const files: Record<string, string> = {};
  for (const [path, value] of Object.entries(spec.secretFiles)) files[path.replace(/^\/+/, "")] = value;
  if (Object.keys(files).length > 0) await writeFilesAtomically(host, "", files, { fileMode: "0600", umask: "077" });
}

/** nixos-rebuild; a dropped connection is retried once; a failure puts the old files back. */
async function rebuild(spec: HostSpec, session: Session, oldFiles: LiveFiles, p: Progress): Promise<void> {
  const command = `nixos-rebuild ${spec.action} 2>&1`;
  const timeoutMs = spec.timeouts.rebuildSeconds * 1000;
  let failure: RolloutError | undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      await run(await session.host(), "rebuild", command, { timeoutMs });
      return;
    } catch (error) {
      if (error instanceof HostConnectionError) await session.close();
      if (error instanceof HostConnectionError && attempt === 1) {
        p(`${spec.name}: connection dropped during nixos-rebuild; reconnecting to run it again`);
        continue;
      }
      failure = inStep(spec.name, "rebuild", error);
      break;
    }
  }
  await restoreFiles(spec.name, session, oldFiles);
  throw new RolloutError(
    spec.name,
    "rebuild",
    `${failure?.summary ?? "nixos-rebuild failed"}; the previous files under /etc/nixos were put back and the running system was left as it was`,
    "fix the Nix error shown below (pulumi preview --diff shows what was about to change), then run the rollout again.",
    failure?.failure,
    failure,
  );
}

/** Puts /etc/nixos back as it was before this rollout. */
export async function restoreFiles(name: string, session: Session, oldFiles: LiveFiles): Promise<void> {
  try {
    await writeFilesAtomically(await session.host(), ETC_NIXOS, oldFiles, { fileMode: "0644", umask: "022" }, "restore");
  } catch (error) {
    throw inStep(name, "restore", error, "the host's /etc/nixos may hold the new files; compare it with the previous configuration by hand.");
  }
}

async function rollBackAfter(
  error: unknown,
  spec: HostSpec,
  before: SystemState,
  oldFiles: LiveFiles,
  session: Session,
  deps: RolloutDeps,
  reboot: boolean,
): Promise<RolloutError> {
  const cause = inStep(spec.name, "health", error);
  // Stopped from outside: no rollback (it would reboot again with nobody watching).
  if (isInterrupted(error)) return stopMidReboot(deps.cluster, spec.kubernetes?.nodeName, spec.name, error instanceof RolloutError ? error.step : "reboot", error, deps.progress);
  try {
    await restoreFiles(spec.name, session, oldFiles);
    const outcome = await rollBack(spec, before, session, deps, reboot);
    return new RolloutError(spec.name, cause.step, `${cause.summary}\nrolled back: ${outcome}; no later host was touched`, cause.hint, cause.failure, cause);
  } catch (rollbackError) {
    const why = rollbackError instanceof Error ? rollbackError.message : String(rollbackError);
    return new RolloutError(
      spec.name,
      cause.step,
      `${cause.summary}\nthe rollback to ${before.profile.system} failed too: ${why}`,
      `the host needs attention by hand; it is still cordoned if it is a Kubernetes node. No later host was touched.`,
      cause.failure,
      cause,
    );
  }
}
