/**
 * Undoing a host's rollout. The files go back first; then the host returns to a system known
 * to boot (decide.ts rollbackTarget), which becomes the system profile's generation, the boot
 * loader's default and the running system: switched into live when the running kernel is its
 * own, else by a reboot behind a drain. Every failure says where the host really is.
 */
import type { Cluster } from "../cluster/cluster";
import type { BootFacts, LiveFiles, NixosOps, SystemState } from "../nixos/ops";
import { bootChanges } from "./decide";
import { releaseCordon, releaseSentence, type Release } from "./cordon";
import { cordonAndDrain, drainOptionsOf } from "./drain";
import { isInterrupted, stopMidReboot } from "./interrupt";
import { inStep, RolloutError, type Step } from "./errors";
import { waitForGates } from "./health";
import type { Progress } from "./progress";
import { rebootAndWait } from "./reboot";
import type { HostSpec } from "./spec";
import type { Clock } from "./wait";

/** What a rollout needs to undo a host: its side-effecting parts. */
export interface UndoDeps {
  readonly cluster?: Cluster;
  readonly progress: Progress;
  readonly clock?: Clock;
  /** Who runs this rollout; recorded on a Node the rollback cordons. */
  readonly lockOwner: string;
}

/** What the rollout found on the host before it wrote anything. */
export interface Landed {
  readonly files: LiveFiles;
  readonly secrets: LiveFiles;
}

/** Puts /etc/nixos and the secret files back as they were before this rollout. */
export async function restoreLanded(name: string, ops: NixosOps, landed: Landed): Promise<void> {
  try {
    await ops.writeConfig(landed.files, "restore");
    await ops.writeSecrets(landed.secrets, "restore");
  } catch (error) {
    throw inStep(name, "restore", error, "the host's /etc/nixos and secret files may hold the new contents; compare them with the previous configuration by hand.");
  }
}

/** "runs A (generation 7); booted B; boots C next (generation 8)" */
export function describeSystems(s: SystemState): string {
  const gen = (n: number) => (n > 0 ? ` (generation ${n})` : "");
  const parts = [`runs ${s.current.system || "an unknown system"}${gen(s.currentGeneration)}`];
  if (s.booted.system !== s.current.system) parts.push(`booted ${s.booted.system || "an unknown system"}`);
  parts.push(s.profile.system === s.current.system ? "boots it next" : `boots ${s.profile.system || "an unknown system"} next${gen(s.generation)}`);
  return parts.join("; ");
}

/** How the host stands when the rollback starts. */
export interface RollbackFrom {
  /** This rollout rebooted the host into another system. */
  readonly rebooted: boolean;
  /** The node is cordoned (drained) by this rollout. */
  readonly drained: boolean;
}

/**
 * Returns the host to `target`: profile, boot default and running system. Returns a sentence
 * saying where the host ended up; throws when the rollback fails.
 */
export async function rollBack(spec: HostSpec, target: BootFacts, ops: NixosOps, deps: UndoDeps, from: RollbackFrom): Promise<string> {
  const p = deps.progress;
  const node = spec.kubernetes?.nodeName;
  p(`rolling back ${spec.name} to ${target.system}`);
  await ops.setProfile(target.system);
  const now = await ops.readSystems();
  // A host already booted into the target (its guard returned it there) needs no reboot.
  const reboot = now.booted.system !== target.system && (from.rebooted || bootChanges(now.booted, target).length > 0);
  let release: Release | undefined;
  if (!reboot) {
    // The running kernel is the target's own: switch back live; `switch` also makes it the boot default.
    await ops.activate(target.system, "switch");
    if (from.drained && deps.cluster && node) release = await releaseCordon(deps.cluster, { host: spec.name, node, progress: p });
  } else {
    await ops.activate(target.system, "boot");
    // The node may have been uncordoned (a gate failed after the reboot) and taken pods since:
    // drain it again, like any reboot. On a node still drained this only cordons.
    if (deps.cluster && node) await cordonAndDrain(deps.cluster, drainOptionsOf(spec, node, deps));
    await rebootAndWait(ops, deps.cluster, { host: spec.name, expectSystem: target.system, nodeName: node, timeouts: spec.timeouts, clock: deps.clock, progress: p });
    if (deps.cluster && node) release = await releaseCordon(deps.cluster, { host: spec.name, node, progress: p });
  }
  await waitForGates(spec.gates, deps.cluster, await ops.shell(), { host: spec.name, timeoutSeconds: spec.timeouts.healthSeconds, clock: deps.clock, progress: p });
  const after = await ops.readSystems();
  if (after.current.system !== target.system || after.profile.system !== target.system) {
    throw new RolloutError(spec.name, "rollback", `the host ${describeSystems(after)}, not ${target.system}`);
  }
  const cordon = release !== undefined && node !== undefined ? `; ${releaseSentence(node, release)}` : "";
  return `${spec.name} runs ${target.system} again (generation ${after.currentGeneration}), as its boot default too${reboot ? ", rebooted into it" : ""}${cordon}; healthy`;
}

/**
 * After `error` stopped the rollout past the point where the host changed: restores the files
 * and rolls back to `target`. Returns the error to throw, saying what happened and where the
 * host is now.
 */
export async function rollBackAfter(
  error: unknown,
  step: Step,
  spec: HostSpec,
  target: BootFacts,
  landed: Landed,
  ops: NixosOps,
  deps: UndoDeps,
  from: RollbackFrom,
): Promise<RolloutError> {
  const cause = inStep(spec.name, step, error);
  if (isInterrupted(error)) {
    // Stopped from outside: no rollback, which would change the host again with nobody watching.
    if (from.rebooted) return stopMidReboot(deps.cluster, spec.kubernetes?.nodeName, spec.name, cause.step, error, deps.progress);
    return new RolloutError(
      spec.name,
      cause.step,
      `${cause.summary}; stopped after the new system was activated, before its health was confirmed: the host ${await ops
        .readSystems()
        .then(describeSystems)
        .catch(() => "could not be read")}`,
      `run \`pulumi up\` again: the state records what the host runs, and the next rollout checks its health and rolls it back if it is unhealthy.`,
      cause.failure,
      cause,
    );
  }
  try {
    await restoreLanded(spec.name, ops, landed);
    const outcome = await rollBack(spec, target, ops, deps, from);
    return new RolloutError(spec.name, cause.step, `${cause.summary}\nrolled back: ${outcome}; no later host was touched`, cause.hint, cause.failure, cause);
  } catch (rollbackError) {
    const why = rollbackError instanceof Error ? rollbackError.message : String(rollbackError);
    const where = await ops
      .readSystems()
      .then((s) => `now the host ${describeSystems(s)}`)
      .catch(() => "the host could not be read to say what it runs now");
    return new RolloutError(
      spec.name,
      cause.step,
      `${cause.summary}\nthe rollback to ${target.system} failed too: ${why}\n${where}`,
      `the host needs attention by hand; it is still cordoned if it is a Kubernetes node. No later host was touched.`,
      cause.failure,
      cause,
    );
  }
}
