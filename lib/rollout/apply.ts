/**
 * The rollout of one host: lock, land the files, rebuild, reboot when needed behind a drain,
 * wait for health, and roll back when the host comes back unhealthy.
 */
import type { Cluster } from "../cluster/cluster";
import { HostConnectionError, type Host, type HostConnector } from "../host/host";
import { releaseAfterFailedDrain, releaseCordon } from "./cordon";
import { cordonAndDrain, drainOptionsOf } from "./drain";
import { RolloutError, inStep } from "./errors";
import { waitForGates } from "./health";
import { decideReboot } from "./decide";
import { type HostOutputs, outputsOf } from "./outputs";
import type { Progress } from "./progress";
import { rebootAndWait } from "./reboot";
import { breakLock, ETC_NIXOS, type LiveFiles, readFiles, readSystemState, run, type SystemState, tryLock, unlock, writeFilesAtomically } from "./remote";
import { syncNodeLabels } from "./labels";
import { rollBack } from "./rollback";
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
  const session = new Session(deps.connector, spec.timeouts.connectSeconds * 1000);
  const host = await session.host();
  await takeLock(host, spec, deps);
  try {
    return await applyLocked(spec, previous, session, deps);
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

async function applyLocked(spec: HostSpec, previous: Previous, session: Session, deps: RolloutDeps): Promise<HostOutputs> {
  const p = deps.progress;
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
    if (deps.cluster && node) {
      try {
        await cordonAndDrain(deps.cluster, drainOptionsOf(spec, node, deps));
      } catch (error) {
        throw await releaseAfterFailedDrain(deps.cluster, { host: spec.name, node, progress: p }, error);
      }
    }
    try {
      booted = await rebootAndWait(session, deps.cluster, { host: spec.name, expectSystem: next.system, nodeName: node, timeouts: spec.timeouts, clock: deps.clock, progress: p });
    } catch (error) {
      throw await rollBackAfter(error, spec, before, oldFiles, session, deps, true);
    }
    if (deps.cluster && node) await releaseCordon(deps.cluster, { host: spec.name, node, progress: p });
  }
  try {
    await waitForGates(spec.gates, deps.cluster, await session.host(), { host: spec.name, timeoutSeconds: spec.timeouts.healthSeconds, clock: deps.clock, progress: p });
  } catch (error) {
    const changed = after.current.system !== before.current.system || decision.reboot;
    if (!changed) throw inStep(spec.name, "health", error);
    throw await rollBackAfter(error, spec, before, oldFiles, session, deps, decision.reboot);
  }
  // A cordon an earlier rollout left (it failed before uncordoning) is lifted once the host is
  // healthy, even when this run did not reboot; an operator's cordon stays.
  if (deps.cluster && node && !decision.reboot) await releaseCordon(deps.cluster, { host: spec.name, node, progress: p });
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
