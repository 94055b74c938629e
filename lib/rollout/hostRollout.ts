/**
 * The rollout of one locked host through its NixOS operations, as steps that each fail in a
 * known state:
 *   preflight  host and cluster healthy before anything changes, else nothing changes
 *   land       /etc/nixos and the secret files written (the old contents kept)
 *   build      the system built, nothing else changed; a failure puts the files back
 *   decide     reboot or not, from the built system against the booted one
 *   drain      before a reboot; a failure puts the files back and uncordons: nothing changed
 *   profile    the built system becomes the profile's generation; a failure changes nothing
 *   guard      armed on the host before activating: unless confirmed, it returns the host to the
 *              previous system (lib/nixos/guard.ts)
 *   activate   switch-to-configuration <goal> (`boot` when a reboot follows); a failure rolls back
 *   confirm    a new SSH connection reaches the host (after the activation, or on the new boot)
 *              and disarms the guard; a host it cannot reach returns by itself, then rolls back
 *   reboot     into the new boot default, then settle and kubelet Ready; a failure rolls back
 *   gates      health gates; a failure rolls back when the host changed
 *   report     what changed between the system run before and after (changes.ts); reading it
 *              never fails the rollout
 */
import { flakeRef } from "../nixos/flake";
import type { Cluster } from "../cluster/cluster";
import { HostConnectionError } from "../host/host";
import { activatesNow, setsBootDefault, type Goal } from "../nixos/goal";
import type { Guard } from "../nixos/guard";
import type { BootFacts, LiveFiles, NixosOps, SystemState } from "../nixos/ops";
import { confirmOrFallBack, isCutOff } from "./confirm";
import { decideReboot, rollbackTarget } from "./decide";
import { releaseAfterFailedDrain, releaseCordon, releaseSentence } from "./cordon";
import { cordonAndDrain, drainOptionsOf } from "./drain";
import { inStep, RolloutError } from "./errors";
import { checkpoint } from "./interrupt";
import { waitForGates } from "./health";
import { changeLines, readChanges } from "./changes";
import { type HostOutputs, outputsOf } from "./outputs";
import { checkHealthyBefore } from "./preflight";
import { pinChannel } from "./pinChannel";
import type { Progress } from "./progress";
import { rebootAndWait } from "./reboot";
import { type Landed, restoreLanded, rollBackAfter } from "./rollback";
import { renderedFileNames, type HostSpec, type StagedBuild } from "./spec";
import { stagedMismatches } from "../nixos/staging";
import type { Clock } from "./wait";

/** The side-effecting parts the steps use besides the host. */
export interface StepDeps {
  readonly cluster?: Cluster;
  readonly progress: Progress;
  readonly clock?: Clock;
  /** Who runs this rollout; recorded on a Node the rollout cordons. */
  readonly lockOwner: string;
  /** Aborted when the rollout must stop at its next safe point (its Pulumi CLI went away). */
  readonly signal?: AbortSignal;
  /** Makes the host-side lock last this many seconds without renewal (while the host reboots). */
  readonly holdLockFor?: (seconds: number) => Promise<void>;
  /** The Nodes other rollouts of the fleet hold slots for now (health.ts: their disruption is theirs). */
  readonly othersDisrupting?: () => Promise<readonly string[]>;
}

/** What the last rollout of the host left: the files it managed. */
export interface Previous {
  readonly files: readonly string[];
}

/** Files the rollout manages: the rendered ones plus those it managed before (to remove them). */
export function managedFileNames(spec: Pick<HostSpec, "files" | "staged">, previouslyManaged: readonly string[]): string[] {
  return [...new Set([...renderedFileNames(spec), ...previouslyManaged])].sort();
}

/** New contents for every managed file (`rendered`: the spec's, or those staged); null removes one no longer rendered. */
export function plannedFiles(rendered: Readonly<Record<string, string>>, names: readonly string[]): LiveFiles {
  const out: LiveFiles = {};
  for (const n of names) out[n] = rendered[n] ?? null;
  return out;
}

/** Rolls one (locked) host out; throws a RolloutError saying the step and where the host is. */
export async function rollOutHost(spec: HostSpec, previous: Previous, ops: NixosOps, deps: StepDeps): Promise<HostOutputs> {
  const p = deps.progress;
  const node = spec.kubernetes?.nodeName;
  checkpoint(deps.signal);
  const names = managedFileNames(spec, previous.files);
  // Everything read before a change, side by side: the preflight, the systems, the build made
  // ahead (its system must still be there and the staged files what it was built from) and the
  // files a failure puts back. A failed preflight is reported first, as nothing must change then.
  const [before, healthy, ahead, files, secrets] = await Promise.allSettled([
    ops.readSystems(),
    checkHealthyBefore(spec, ops, deps),
    spec.staged ? builtAhead(spec.name, spec.staged, ops) : Promise.resolve(undefined),
    ops.readConfig(names),
    ops.readSecrets(Object.keys(spec.secretFiles)),
  ]);
  for (const r of [healthy, before, ahead, files, secrets]) if (r.status === "rejected") throw r.reason;
  return rollOutChecked(spec, previous, ops, deps, names, {
    before: settledValue(before),
    ahead: settledValue(ahead),
    landed: { files: settledValue(files), secrets: settledValue(secrets) },
  });
}

/** The value of a promise known to have been fulfilled. */
function settledValue<T>(r: PromiseSettledResult<T>): T {
  if (r.status === "rejected") throw r.reason;
  return r.value;
}

/** What the rollout read before changing anything. */
interface ReadFirst {
  readonly before: SystemState;
  readonly ahead: { system: BootFacts; files: Record<string, string> } | undefined;
  readonly landed: Landed;
}

/** The rollout once the preflight passed and everything it may put back was read. */
async function rollOutChecked(spec: HostSpec, previous: Previous, ops: NixosOps, deps: StepDeps, names: readonly string[], first: ReadFirst): Promise<HostOutputs> {
  const p = deps.progress;
  const node = spec.kubernetes?.nodeName;
  const { before, ahead, landed } = first;
  await ops.writeSecrets(spec.secretFiles);
  await ops.writeConfig(plannedFiles(ahead?.files ?? spec.files, names));
  let built: BootFacts;
  if (ahead) {
    built = ahead.system;
    p(`${spec.name}: landed the configuration staged in ${spec.staged?.dir} under /etc/nixos; activating ${built.system}, built ahead (then ${spec.action})`);
  } else {
    p(`rebuilding ${spec.name} (nixos-rebuild build${spec.flake ? ` --flake ${flakeRef("/etc/nixos", spec.flake)}` : ""}, then ${spec.action})`);
    built = await build(spec, ops, landed, p);
  }
  const decision = decideReboot(spec.rebootPolicy, spec.action, before, built);
  p(`${spec.name}: built ${built.system}; ${decision.reboot ? "rebooting" : "no reboot"}: ${decision.reason}`);
  const target = rollbackTarget(before);
  const undo = async (error: unknown, step: "activate" | "confirm" | "reboot" | "health", rebooted: boolean, drained: boolean) => {
    // A host its new configuration cut off, and that did not come back, cannot be rolled back over SSH.
    if (isCutOff(error) && !error.returned) return error;
    return rollBackAfter(error, step, spec, target, landed, ops, deps, { rebooted, drained });
  };
  let booted: { at: Date; state: SystemState } | undefined;
  try {
    // A safe point: a rollout told to stop here leaves the host exactly as it was.
    checkpoint(deps.signal);
  } catch (error) {
    await restoreLanded(spec.name, ops, landed);
    throw unchanged(inStep(spec.name, "build", error), before, "nothing was made the profile or activated");
  }
  if (decision.reboot) {
    const t = spec.timeouts;
    // A guard that returns the host adds its deadline and one more reboot.
    await deps.holdLockFor?.(t.drainSeconds + 2 * (t.shutdownSeconds + t.bootSeconds) + t.confirmSeconds + t.settleSeconds + t.readySeconds);
    if (deps.cluster && node) {
      try {
        await cordonAndDrain(deps.cluster, drainOptionsOf(spec, node, deps));
        // The last safe point before the host changes: a stop here leaves it exactly as it was.
        checkpoint(deps.signal);
      } catch (error) {
        // The cordon goes back to what it was before the drain (an operator's stays).
        const released = await releaseAfterFailedDrain(deps.cluster, { host: spec.name, node, progress: p }, error);
        await restoreLanded(spec.name, ops, landed);
        throw unchanged(released, before, "its profile, boot default and running system were not touched");
      }
    }
    await activate(spec, ops, built, decision.goal, before, landed, deps, undo, true);
    const guard = { kind: "boot", system: built.system, previous: target.system, seconds: t.confirmSeconds } as const;
    try {
      await ops.armGuard(guard);
      p(`${spec.name}: boot guard armed: unless a new SSH connection confirms the new boot within ${guard.seconds}s of it, the host returns to ${guard.previous}`);
    } catch (error) {
      throw await undo(error, "activate", false, true);
    }
    try {
      booted = await rebootAndWait(ops, deps.cluster, { host: spec.name, expectSystem: built.system, nodeName: node, timeouts: t, clock: deps.clock, progress: p, guard });
    } catch (error) {
      throw await undo(error, "reboot", true, true);
    }
    if (deps.cluster && node) await releaseCordon(deps.cluster, { host: spec.name, node, progress: p });
  } else {
    const goal = decision.goal;
    // Activating the system that already runs changes nothing that could cut the host off.
    const guard: Guard | undefined = activatesNow(goal) && built.system !== before.current.system ? { kind: "live", system: built.system, previous: target.system, goal, seconds: spec.timeouts.confirmSeconds } : undefined;
    await activate(spec, ops, built, goal, before, landed, deps, undo, false, guard);
    if (guard) {
      try {
        await confirmOrFallBack(ops, { host: spec.name, guard, timeouts: spec.timeouts, clock: deps.clock, progress: p }, 0);
      } catch (error) {
        throw await undo(error, "confirm", false, false);
      }
    }
  }
  const after = booted?.state ?? (await ops.readSystems());
  try {
    await waitForGates(spec.gates, deps.cluster, await ops.shell(), { host: spec.name, timeoutSeconds: spec.timeouts.healthSeconds, clock: deps.clock, progress: p, othersDisrupting: deps.othersDisrupting });
  } catch (error) {
    const changed = decision.reboot || after.current.system !== before.current.system || after.profile.system !== before.profile.system;
    if (!changed) throw inStep(spec.name, "health", error);
    throw await undo(error, "health", decision.reboot, false);
  }
  // A cordon an earlier rollout left (it stopped before uncordoning) is lifted once the host is
  // healthy, even when this run did not reboot; an operator's cordon stays.
  if (deps.cluster && node && !decision.reboot) await releaseCordon(deps.cluster, { host: spec.name, node, progress: p });
  await pinChannel(spec, ops, p);
  // Gates only read the host, so its systems are as last read: after the reboot, or the activation.
  const changes = await readChanges(ops, before, after);
  for (const line of changeLines(spec.name, changes)) p(line);
  return outputsOf(after, { rebooted: decision.reboot, at: booted?.at, reason: decision.reason }, changes);
}

/** Restores the node's cordon after a failure before any change; the clause says where it was left. */
async function releaseAfter(deps: StepDeps, host: string, node: string): Promise<string> {
  if (!deps.cluster) return "";
  try {
    return `, ${releaseSentence(node, await releaseCordon(deps.cluster, { host, node, progress: deps.progress }))}`;
  } catch (error) {
    return `, ${node} could not be uncordoned (${error instanceof Error ? error.message : String(error)}); run kubectl uncordon ${node}`;
  }
}

/** A failure that left the host as it was: says so, with the system it runs. */
function unchanged(cause: RolloutError, before: SystemState, what: string): RolloutError {
  return new RolloutError(
    cause.host,
    cause.step,
    `${cause.summary}\nnothing was changed on ${cause.host}: the previous files under /etc/nixos and the secret files were put back, ${what}; it runs ${before.current.system} as before`,
    cause.hint,
    cause.failure,
    cause,
  );
}

/**
 * The system the FleetBuild built ahead and the files it was built from, read back from the host;
 * refuses, before anything changes, when either is gone or changed.
 */
async function builtAhead(host: string, staged: StagedBuild, ops: NixosOps): Promise<{ system: BootFacts; files: Record<string, string> }> {
  const again = "run `pulumi up --refresh`: the refresh finds the build gone and the rollout builds and stages it again. Nothing was changed on the host.";
  const system = await ops.findSystem(staged.system);
  if (!system) {
    throw new RolloutError(host, "build", `the system ${staged.system} built for ${host} is no longer in its Nix store (garbage-collected, or the host was reinstalled since the build)`, again);
  }
  const live = await ops.readStaged(staged.dir, Object.keys(staged.fileHashes));
  const bad = stagedMismatches(staged, live);
  if (bad.length > 0) {
    throw new RolloutError(host, "stage", `the configuration staged in ${staged.dir} is not the one ${staged.system} was built from: ${bad.join(", ")} missing or changed`, again);
  }
  const files: Record<string, string> = {};
  for (const n of Object.keys(staged.fileHashes)) files[n] = live[n] as string;
  return { system, files };
}

/**
 * Builds the system; after a dropped connection it follows the build still running on the host
 * (once); a failure puts the old files back.
 */
async function build(spec: HostSpec, ops: NixosOps, landed: Landed, p: Progress): Promise<BootFacts> {
  const deadline = Date.now() + spec.timeouts.rebuildSeconds * 1000;
  let failure: RolloutError | undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      return await ops.build(Math.max(1, deadline - Date.now()), attempt > 1, undefined, spec.channel, spec.flake);
    } catch (error) {
      if (error instanceof HostConnectionError && attempt === 1) {
        p(`${spec.name}: connection dropped during nixos-rebuild; reconnecting to follow the build, which goes on on the host`);
        continue;
      }
      failure = inStep(spec.name, "build", error);
      break;
    }
  }
  await restoreLanded(spec.name, ops, landed);
  const cause = failure ?? new RolloutError(spec.name, "build", "nixos-rebuild build failed");
  throw new RolloutError(
    spec.name,
    "build",
    `${cause.summary}\nnothing was changed on ${spec.name}: the previous files under /etc/nixos and the secret files were put back; the profile, boot default and running system were not touched`,
    "fix the Nix error shown below (pulumi preview --diff shows what was about to change), then run the rollout again.",
    cause.failure,
    cause,
  );
}

/**
 * Sets the profile (when the goal makes a boot default), arms the live guard when one is given,
 * then runs switch-to-configuration. A profile that could not be set changed nothing: the files
 * go back. An activation that fails may have moved the boot default and part of the running
 * system: the guard is disarmed over the connection still open and the rollout rolls back.
 */
async function activate(
  spec: HostSpec,
  ops: NixosOps,
  built: BootFacts,
  goal: Goal,
  before: SystemState,
  landed: Landed,
  deps: StepDeps,
  undo: (error: unknown, step: "activate", rebooted: boolean, drained: boolean) => Promise<RolloutError>,
  drained: boolean,
  guard?: Guard,
): Promise<void> {
  const node = spec.kubernetes?.nodeName;
  const isDrained = drained && deps.cluster !== undefined && node !== undefined;
  if (setsBootDefault(goal)) {
    try {
      await ops.setProfile(built.system);
    } catch (error) {
      const cordon = isDrained ? await releaseAfter(deps, spec.name, node as string) : "";
      await restoreLanded(spec.name, ops, landed);
      throw unchanged(inStep(spec.name, "profile", error), before, `the profile was left at ${before.profile.system}${cordon}`);
    }
  }
  try {
    if (guard) {
      await ops.armGuard(guard);
      deps.progress(`${spec.name}: guard armed: unless a new SSH connection confirms ${built.system} within ${guard.seconds}s, the host returns to ${guard.previous}`);
    }
    deps.progress(`${spec.name}: switch-to-configuration ${goal}`);
    await ops.activate(built.system, goal);
  } catch (error) {
    // The rollback runs over this connection; the guard must not switch beside it. A connection
    // that is gone leaves the guard armed: it is then what brings the host back.
    if (guard) await ops.disarmGuard().catch(() => undefined);
    throw await undo(error, "activate", false, isDrained);
  }
}
