/**
 * The NixosHost provider's implementation. The serialized provider (nixosHost.ts) only
 * requires this module and forwards each call, so the code that runs is the compiled code
 * of the checkout, and clients (SSH, Kubernetes) are created inside each call.
 */
import { randomBytes } from "node:crypto";
import * as os from "node:os";
import type * as pulumi from "@pulumi/pulumi";
import type { Cluster } from "../lib/cluster/cluster";
import type { SshConnector } from "../lib/host/ssh";
import { FleetLease, leaseIdentity } from "../lib/cluster/lease";
import { applyHost, managedFileNames, type Previous } from "../lib/rollout/apply";
import { NO_CHANGES } from "../lib/rollout/changes";
import { RolloutError } from "../lib/rollout/errors";
import { claimNode, readHost, removeHost } from "../lib/rollout/inspect";
import { isInterrupted, stoppableClock } from "../lib/rollout/interrupt";
import type { HostOutputs } from "../lib/rollout/outputs";
import { connectorFor, pidAlive, progress, tofuPin } from "./connect";
import { clusterFor } from "./kubeClient";
import { engineWatch } from "./engineWatch";
import { type DisruptionBudget, type HostSpec, renderedFileNames } from "../lib/rollout/spec";
import { changedInputs, type HostProps, QUIET_INPUTS, specOf } from "./props";
import { channelNotSet, diffHost, driftOf, failedRolloutProps, type LiveRead, RecordedFailure, withLiveFiles } from "./state";

/**
 * Errors raised before the rollout changed anything, so the recorded state stays as it was:
 * the first connection failed, or the host's lock or the fleet lease could not be taken.
 */
function touchedNothing(error: unknown, connector: SshConnector): boolean {
  if (!(error instanceof RolloutError)) return false;
  return error.step === "lock" || (error.step === "connect" && connector.presentedHostKey === undefined);
}

/**
 * Rolls the host out. `news` are the inputs as the engine sent them (with its own keys), `olds`
 * the recorded state of an update. A failure is recorded as what the host really runs. The
 * rollout stops at its next safe point when the Pulumi CLI that started it goes away.
 */
async function rollout(news: HostProps, olds: HostProps | undefined): Promise<HostProps> {
  const spec = specOf(news);
  const previous: Previous = { files: olds ? renderedFileNames({ files: olds.files ?? {}, staged: olds.staged }) : [] };
  const rotated = olds?.sshPrivateKey && olds.sshPrivateKey !== spec.sshPrivateKey ? olds.sshPrivateKey : undefined;
  const connector = connectorFor(spec, { trustedHostKey: olds?.pinnedHostKey, previousPrivateKey: rotated });
  const cluster = await clusterFor(spec);
  const watch = engineWatch();
  let outputs: HostOutputs;
  try {
    outputs = await watch.during(() =>
      applyHost(spec, previous, {
        connector,
        cluster,
        progress,
        owner: { pid: process.pid, machine: os.hostname(), token: randomBytes(8).toString("hex") },
        isAlive: pidAlive,
        signal: watch.signal,
        clock: stoppableClock(watch.signal),
      }),
    );
  } catch (error) {
    // Nobody is left to record a stopped rollout's state; the next run reads the host anyway.
    if (touchedNothing(error, connector) || isInterrupted(error) || !(error instanceof Error)) throw error;
    const recorded = error instanceof RolloutError && error.step === "channel" ? channelNotSet(news, olds) : news;
    throw await recordFailure(error, recorded, olds, previous, connector);
  }
  const pinnedHostKey = tofuPin(spec, connector, olds?.pinnedHostKey);
  const outs: HostProps = { ...spec, ...outputs, rolledOutSystem: outputs.systemPath, pinnedHostKey, readError: "" };
  if (rotated && connector.usedPreviousKey) await confirmNewKey(spec, pinnedHostKey, news, outs, rotated);
  // The rollout's own new connection (confirming the activation) already logged in with the new key.
  else if (rotated && connector.movedToNewKey) progress(`${spec.name}: the host accepts the new SSH private key now`);
  if (cluster && spec.kubernetes) await claimNode(cluster, spec.name, spec.kubernetes.nodeName, progress);
  progress(`${spec.name} done: generation ${outputs.generation}, ${outputs.rebooted ? "rebooted" : "not rebooted"}`);
  return outs;
}

/**
 * After a login key rotation (a rollout that had to log in with the previous key, or no rollout
 * at all), checks that the host accepts the new key. When it does not, the state keeps the
 * previous key so that the next run can still log in.
 */
async function confirmNewKey(spec: HostSpec, pinnedHostKey: string, news: HostProps, outs: HostProps, previousKey: string): Promise<void> {
  const connector = connectorFor(spec, { trustedHostKey: pinnedHostKey });
  try {
    const host = await connector.connect(spec.timeouts.connectSeconds * 1000);
    await host.close();
    progress(`${spec.name}: the host accepts the new SSH private key now`);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const failure = new RolloutError(
      spec.name,
      "connect",
      `the host refuses the new SSH private key (the configuration is rolled out; the previous key still logs in): ${why}`,
      `make sure the configuration authorizes the new key's public half (users.users.${spec.user}.openssh.authorizedKeys); the state keeps the previous key, so the next run can still log in.`,
      undefined,
      error,
    );
    throw new RecordedFailure(spec.name, { ...news, ...outs, sshPrivateKey: previousKey }, failure);
  }
}

/** Reads what the host runs after a failed rollout and wraps the error so the engine records it. */
async function recordFailure(error: Error, news: HostProps, olds: HostProps | undefined, previous: Previous, connector: SshConnector): Promise<RecordedFailure> {
  const spec = specOf(news);
  const pinnedHostKey = tofuPin(spec, connector, olds?.pinnedHostKey);
  let live: LiveRead;
  try {
    const found = await readHost(connector, managedFileNames(spec, previous.files), spec.timeouts.connectSeconds, {
      rebooted: false,
      rebootedAt: "",
      rebootReason: "the last rollout failed",
      // A failed rollout reports no change, whatever it may have left behind.
      changes: NO_CHANGES,
    });
    live = { kind: "read", files: found.files, outputs: found.outputs };
    progress(`${spec.name}: recorded what the host runs after the failure: ${found.outputs.systemPath} (generation ${found.outputs.generation})`);
  } catch (readError) {
    const reason = readError instanceof Error ? readError.message : String(readError);
    live = { kind: "unreachable", reason };
    progress(`${spec.name}: could not read the host after the failure (${reason}); the next run rolls it out again`);
  }
  return new RecordedFailure(spec.name, failedRolloutProps(news, olds, live, pinnedHostKey), error);
}

export async function diff(_id: string, olds: HostProps, news: HostProps): Promise<pulumi.dynamic.DiffResult> {
  return diffHost(olds, news);
}

export async function create(inputs: HostProps): Promise<pulumi.dynamic.CreateResult> {
  return { id: inputs.name, outs: await rollout(inputs, undefined) };
}

export async function update(_id: string, olds: HostProps, news: HostProps): Promise<pulumi.dynamic.UpdateResult> {
  const spec = specOf(news);
  const changed = changedInputs(olds, news);
  const drift = driftOf(olds);
  if (drift === undefined && changed.every((k) => QUIET_INPUTS.has(k))) {
    // Nothing on the host changes: keep the last rollout's outputs with the new settings.
    const outs: HostProps = { ...olds, ...spec };
    // A new login key is recorded only once the host accepts it; the next run could not log in otherwise.
    if (olds.sshPrivateKey && olds.sshPrivateKey !== spec.sshPrivateKey) await confirmNewKey(spec, olds.pinnedHostKey ?? "", news, outs, olds.sshPrivateKey);
    const cluster = await clusterFor(spec);
    if (cluster && spec.kubernetes) {
      await claimNode(cluster, spec.name, spec.kubernetes.nodeName, progress);
    }
    return { outs };
  }
  if (drift !== undefined) progress(`${spec.name}: ${drift}; rolling it out again`);
  return { outs: await rollout(news, olds) };
}

export async function read(id: string, props: HostProps): Promise<pulumi.dynamic.ReadResult> {
  const spec = specOf(props);
  const connector = connectorFor(spec, { trustedHostKey: props.pinnedHostKey });
  const live = await readHost(connector, renderedFileNames({ files: spec.files ?? {}, staged: spec.staged }), spec.timeouts.connectSeconds, {
    rebooted: props.rebooted ?? false,
    rebootedAt: props.rebootedAt ?? "",
    rebootReason: props.rebootReason ?? "",
    // A refresh describes the last rollout's changes, it does not invent one.
    changes: props.changes ?? NO_CHANGES,
  });
  const pinnedHostKey = tofuPin(spec, connector, props.pinnedHostKey);
  return { id, props: withLiveFiles({ ...props, ...live.outputs, pinnedHostKey, readError: "" }, live.files) };
}

export async function remove(_id: string, props: HostProps): Promise<void> {
  const spec = specOf(props);
  const cluster = await clusterFor(spec);
  // Draining the Node disrupts it like a reboot: under the fleet lease too.
  const token = randomBytes(8).toString("hex");
  // State recorded before budgets existed has none: the lease then behaves as it always did (one host at a time).
  const budget: DisruptionBudget | undefined = spec.disruption;
  const lease = cluster
    ? await FleetLease.take(cluster, {
        host: spec.name,
        identity: leaseIdentity(spec.name, process.pid, os.hostname(), token),
        maxUnavailable: budget?.maxUnavailable,
        group: budget?.group,
        waitSeconds: spec.timeouts.lockSeconds,
        progress,
      })
    : undefined;
  try {
    await removeHost(spec.name, cluster, spec.kubernetes?.nodeName, spec, progress);
  } finally {
    await lease?.release().catch(() => undefined);
  }
}
