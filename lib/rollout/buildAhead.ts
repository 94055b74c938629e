/**
 * The build of one host ahead of its activation (for the FleetBuild resource): under the host lock,
 * stage the rendered files in a staging folder (a copy of /etc/nixos with them on top), build
 * the system from there with NixOS's own `nixos-rebuild build -I nixos-config=…`, and keep it
 * from garbage collection (the staging folder's ./result). Nothing the host runs or boots
 * changes: /etc/nixos, the system profile, the boot loader and the running system stay as they
 * are, so every host of a fleet can be built at once before any is disrupted.
 */
import { HostConnectionError, type HostConnector } from "../host/host";
import { flakeRef } from "../nixos/flake";
import type { BootFacts, NixosOps } from "../nixos/ops";
import { sshOps } from "../nixos/sshOps";
import { fileHashes, stagedMismatches } from "../nixos/staging";
import { inStep, RolloutError } from "./errors";
import { HostLock } from "./lock";
import type { LockOwner } from "./lockRecord";
import type { Progress } from "./progress";
import { Session } from "./session";
import type { BuildSpec, StagedBuild } from "./spec";
import type { Clock } from "./wait";

/** The side-effecting parts a build is given. */
export interface BuildDeps {
  readonly connector: HostConnector;
  readonly progress: Progress;
  /** This process, written into the host-side lock. */
  readonly owner: LockOwner;
  readonly isAlive: (pid: number) => boolean;
  readonly clock?: Clock;
}

/** Stages and builds the host's configuration; throws a RolloutError naming the step when it cannot. */
export async function buildAhead(spec: BuildSpec, deps: BuildDeps): Promise<StagedBuild> {
  const session = new Session(deps.connector, spec.timeouts.connectSeconds * 1000);
  try {
    const lock = await HostLock.take(session, { host: spec.name, owner: deps.owner, waitSeconds: spec.timeouts.lockSeconds, isAlive: deps.isAlive, progress: deps.progress, clock: deps.clock });
    try {
      return await stageAndBuild(spec, sshOps(session), deps.progress);
    } finally {
      await lock.release().catch(() => undefined);
    }
  } finally {
    await session.close();
  }
}

/** The build's steps over the host's NixOS operations (unit tests drive them with a fake). */
export async function stageAndBuild(spec: BuildSpec, ops: NixosOps, p: Progress): Promise<StagedBuild> {
  const untouched = `nothing ${spec.name} runs or boots was changed: /etc/nixos, the system profile, the boot loader and the running system are as they were`;
  p(`${spec.name}: staging its configuration in ${spec.stagingDir}`);
  try {
    await ops.stage(spec.stagingDir, spec.files);
  } catch (error) {
    const cause = inStep(spec.name, "stage", error);
    throw new RolloutError(spec.name, "stage", `${cause.summary}\n${untouched}`, cause.hint ?? `check free space under ${spec.stagingDir} on the host, then run the rollout again.`, cause.failure, cause);
  }
  const from = spec.channel ? ` from the channel ${spec.channel.url}, fetched into its store` : "";
  const how = spec.flake ? `--flake ${flakeRef(spec.stagingDir, spec.flake)}` : `-I nixos-config=${spec.stagingDir}/configuration.nix`;
  p(`${spec.name}: building it (nixos-rebuild build ${how})${from}`);
  const system = await follow(spec, ops, p, untouched);
  // Superseded: the staged folders of earlier builds go, with the GC roots of their systems (a failed build leaves them).
  await ops.unstageOthers(spec.stagingDir);
  p(`${spec.name}: built ${system.system}; ${spec.stagingDir}/result keeps it from garbage collection until its activation`);
  return { dir: spec.stagingDir, system: system.system, fileHashes: fileHashes(spec.files) };
}

/** Runs the build; after a dropped connection it follows the build still running on the host (once). */
async function follow(spec: BuildSpec, ops: NixosOps, p: Progress, untouched: string): Promise<BootFacts> {
  const deadline = Date.now() + spec.timeouts.rebuildSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await ops.build(Math.max(1, deadline - Date.now()), attempt > 1, spec.stagingDir, spec.channel, spec.flake);
    } catch (error) {
      if (error instanceof HostConnectionError && attempt === 1) {
        p(`${spec.name}: connection dropped during nixos-rebuild; reconnecting to follow the build, which goes on on the host`);
        continue;
      }
      const cause = inStep(spec.name, "build", error);
      throw new RolloutError(
        spec.name,
        "build",
        `${cause.summary}\n${untouched}; no host of the fleet is activated while a build fails`,
        cause.hint ?? `fix the Nix error shown below (pulumi preview --diff shows the files; the staged configuration stays in ${spec.stagingDir} on the host), then run the rollout again.`,
        cause.failure,
        cause,
      );
    }
  }
}

/**
 * Why a build recorded in the state can no longer be activated (its system left the store, or
 * its staged files are gone or changed), or undefined when it still can. Reads only.
 */
export async function lostBuild(staged: StagedBuild, ops: NixosOps): Promise<string | undefined> {
  if (!(await ops.findSystem(staged.system))) return `the system ${staged.system} is no longer in the host's Nix store (garbage-collected, or the host was reinstalled)`;
  const bad = stagedMismatches(staged, await ops.readStaged(staged.dir, Object.keys(staged.fileHashes)));
  if (bad.length > 0) return `the configuration staged in ${staged.dir} is gone or changed (${bad.join(", ")})`;
  return undefined;
}

/** lostBuild over SSH: connects, reads, closes. */
export async function checkBuilt(staged: StagedBuild, connector: HostConnector, connectSeconds: number): Promise<string | undefined> {
  const session = new Session(connector, connectSeconds * 1000);
  try {
    return await lostBuild(staged, sshOps(session));
  } finally {
    await session.close();
  }
}
