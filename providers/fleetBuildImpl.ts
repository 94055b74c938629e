/**
 * The FleetBuild provider's implementation (see fleetBuild.ts): create and update stage and
 * build the configuration of each host that needs it, all at once up to a bound, without
 * changing what any host runs (lib/rollout/buildAhead.ts); read checks each build is still
 * there; delete leaves the hosts alone.
 */
import { randomBytes } from "node:crypto";
import * as os from "node:os";
import type * as pulumi from "@pulumi/pulumi";
import { buildAhead, checkBuilt } from "../lib/rollout/buildAhead";
import { fileHashes } from "../lib/nixos/staging";
import { connectorFor, pidAlive, progress, tofuPin } from "./connect";
import { buildErrors, builds, buildSpecOf, diffFleetBuild, type FleetBuildProps, type HostBuildResult, planBuilds, recordedBuilds } from "./fleetBuildProps";
import { preloadKubeClient } from "./kubeClient";
import { RecordedFailure } from "./state";

/** The id of the one FleetBuild of a stack. */
export const FLEET_BUILD_ID = "fleet";

/**
 * How many hosts are built, or checked by a refresh, at once: each holds an SSH session from
 * this machine while its host builds. Bounded so that a fleet of hundreds does not open hundreds
 * of sessions at once.
 */
export const HOSTS_AT_ONCE = 64;

/** Runs `work` on every item, at most `limit` at once; never rejects (`work` catches its own errors). */
async function eachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Builds one host; `olds` is the recorded state of an update (its host key and, after a rotation, its login key). */
async function buildHost(name: string, news: FleetBuildProps, olds: FleetBuildProps | undefined): Promise<HostBuildResult> {
  const spec = buildSpecOf(news, name);
  const before = olds?.sshPrivateKeys[name];
  const rotated = before && before !== spec.sshPrivateKey ? before : undefined;
  const pinned = olds?.pinnedHostKeys?.[name] || undefined;
  try {
    const connector = connectorFor(spec, { trustedHostKey: pinned, previousPrivateKey: rotated });
    const staged = await buildAhead(spec, {
      connector,
      progress,
      owner: { pid: process.pid, machine: os.hostname(), token: randomBytes(8).toString("hex") },
      isAlive: pidAlive,
    });
    return { system: staged.system, pinnedHostKey: tofuPin(spec, connector, pinned) };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** The error of a FleetBuild whose builds failed on some hosts: every host's error, one after another. */
function fleetBuildError(failures: readonly { host: string; error: Error }[], built: number): Error {
  const names = failures.map((f) => f.host).join(", ");
  const head = `the build failed on ${failures.length} host${failures.length === 1 ? "" : "s"} (${names}); no host of the fleet is activated or disrupted while a build fails${built > 0 ? `; the ${built} built are recorded and not built again` : ""}`;
  return new Error([head, ...failures.map((f) => f.error.message)].join("\n\n"));
}

/** Builds every host the plan says must be; throws a RecordedFailure, with what was built, when any build fails. */
async function buildAll(news: FleetBuildProps, olds: FleetBuildProps | undefined): Promise<FleetBuildProps> {
  const plan = planBuilds(olds, news);
  const todo = [...plan].filter(([, step]) => builds(step));
  if (todo.length > 0) preloadKubeClient(); // The hosts' rollouts come after the builds and need the client: load it while they run.
  for (const [name, step] of todo) if (builds(step) && olds?.hosts[name]) progress(`${name}: building again: ${step.why}`);
  const results = new Map<string, HostBuildResult>();
  await eachBounded(todo, HOSTS_AT_ONCE, async ([name]) => {
    results.set(name, await buildHost(name, news, olds));
  });
  const recorded = recordedBuilds(olds, news, results);
  const failures = buildErrors(results);
  if (failures.length === 0) return recorded;
  const error = fleetBuildError(failures, results.size - failures.length);
  // One reason, the whole message: the engine shows each reason as an error of its own, and the first line says what the errors add up to.
  throw new RecordedFailure(FLEET_BUILD_ID, recorded, error);
}

export async function diff(_id: string, olds: FleetBuildProps, news: FleetBuildProps): Promise<pulumi.dynamic.DiffResult> {
  return diffFleetBuild(olds, news);
}

export async function create(inputs: FleetBuildProps): Promise<pulumi.dynamic.CreateResult> {
  return { id: FLEET_BUILD_ID, outs: await buildAll(inputs, undefined) };
}

export async function update(_id: string, olds: FleetBuildProps, news: FleetBuildProps): Promise<pulumi.dynamic.UpdateResult> {
  return { outs: await buildAll(news, olds) };
}

/** A refresh: a host whose built system or staged files are gone is recorded with no system, so the next run builds it again. */
export async function read(id: string, props: FleetBuildProps): Promise<pulumi.dynamic.ReadResult> {
  const systems = { ...(props.systems ?? {}) };
  const names = Object.keys(props.hosts).filter((name) => systems[name]);
  const unread: string[] = [];
  await eachBounded(names, HOSTS_AT_ONCE, async (name) => {
    const spec = buildSpecOf(props, name);
    const connector = connectorFor(spec, { trustedHostKey: props.pinnedHostKeys?.[name] || undefined });
    try {
      const lost = await checkBuilt({ dir: spec.stagingDir, system: systems[name], fileHashes: fileHashes(spec.files) }, connector, spec.timeouts.connectSeconds);
      if (lost === undefined) return;
      progress(`${name}: ${lost}; the next rollout builds it again`);
      systems[name] = "";
    } catch (error) {
      unread.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  if (unread.length > 0) throw new Error(`could not check the builds of ${unread.length} host${unread.length === 1 ? "" : "s"}; the state is left as it was:\n${unread.sort().join("\n")}`);
  return { id, props: { ...props, systems } };
}

/** Hosts leaving the fleet, or the fleet's build: no machine is touched (staging folders stay until a later build of their host). */
export async function remove(): Promise<void> {
  return undefined;
}
