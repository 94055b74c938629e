/**
 * The NixosHost provider's implementation. The serialized provider (nixosHost.ts) only
 * requires this module and forwards each call, so the code that runs is the compiled code
 * of the checkout, and clients (SSH, Kubernetes) are created inside each call.
 */
import { randomBytes } from "node:crypto";
import * as os from "node:os";
import type * as pulumi from "@pulumi/pulumi";
import type { Cluster } from "../lib/cluster/cluster";
import { FleetLease, leaseIdentity } from "../lib/cluster/lease";
import type { HostConnector } from "../lib/host/host";
import { applyHost, type Previous } from "../lib/rollout/apply";
import { syncNodeLabels } from "../lib/rollout/labels";
import { readHost, removeHost } from "../lib/rollout/inspect";
import { stoppableClock } from "../lib/rollout/interrupt";
import { engineWatch } from "./engineWatch";
import type { HostSpec } from "../lib/rollout/spec";
import { changedInputs, type HostProps, QUIET_INPUTS } from "./props";

/** Progress lines go to the provider's output, which the engine shows with the resource. */
function progress(line: string): void {
  try {
    console.log(line);
  } catch {
    // The output pipe breaks (EPIPE) when the CLI is gone; a line nobody can read must not stop the rollout's safe stop.
  }
}

/** Whether a process of this machine exists (signal 0 only checks). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function connectorFor(spec: HostSpec): HostConnector {
  // Loaded here, not at the top: preview and diff never need ssh2.
  const { sshConnector } = require("../lib/host/ssh") as typeof import("../lib/host/ssh");
  return sshConnector({
    name: spec.name,
    address: spec.address,
    port: spec.port,
    user: spec.user,
    privateKey: spec.sshPrivateKey,
    hostKey: spec.hostKey,
    trustOnFirstUse: spec.trustOnFirstUse,
  });
}

function clusterFor(spec: HostSpec): Cluster | undefined {
  if (!spec.kubernetes) return undefined;
  const { kubeCluster } = require("../lib/cluster/kube") as typeof import("../lib/cluster/kube");
  return kubeCluster(spec.kubernetes.kubeconfig);
}

function specOf(props: HostProps): HostSpec {
  const { systemPath, generation, bootedKernel, bootId, rebooted, rebootedAt, rebootReason, pendingReboot, ...spec } = props;
  void [systemPath, generation, bootedKernel, bootId, rebooted, rebootedAt, rebootReason, pendingReboot];
  return spec;
}

async function rollout(spec: HostSpec, previous: Previous): Promise<HostProps> {
  const watch = engineWatch();
  const outputs = await watch.during(() =>
    applyHost(spec, previous, {
      connector: connectorFor(spec),
      cluster: clusterFor(spec),
      progress,
      owner: { pid: process.pid, machine: os.hostname(), token: randomBytes(8).toString("hex") },
      isAlive: pidAlive,
      signal: watch.signal,
      clock: stoppableClock(watch.signal),
    }),
  );
  progress(`${spec.name} done: generation ${outputs.generation}, ${outputs.rebooted ? "rebooted" : "not rebooted"}`);
  return { ...spec, ...outputs };
}

export async function check(_olds: HostProps, news: HostProps): Promise<pulumi.dynamic.CheckResult> {
  return { inputs: news };
}

export async function diff(_id: string, olds: HostProps, news: HostProps): Promise<pulumi.dynamic.DiffResult> {
  const changed = changedInputs(olds, news);
  const replaces = olds.name !== news.name ? ["name"] : [];
  return { changes: changed.length > 0 || replaces.length > 0, replaces, deleteBeforeReplace: false };
}

export async function create(inputs: HostProps): Promise<pulumi.dynamic.CreateResult> {
  const spec = specOf(inputs);
  return { id: spec.name, outs: await rollout(spec, { files: [], nodeLabels: {} }) };
}

export async function update(_id: string, olds: HostProps, news: HostProps): Promise<pulumi.dynamic.UpdateResult> {
  const spec = specOf(news);
  const changed = changedInputs(olds, news);
  const previous = { files: Object.keys(olds.files ?? {}), nodeLabels: olds.nodeLabels ?? {} };
  if (changed.every((k) => QUIET_INPUTS.has(k))) {
    // Nothing on the host changes: keep the last rollout's outputs with the new settings.
    const cluster = clusterFor(spec);
    if (cluster && spec.kubernetes) await syncNodeLabels(cluster, spec.name, spec.kubernetes.nodeName, previous.nodeLabels, spec.nodeLabels, progress);
    return { outs: { ...olds, ...spec } };
  }
  return { outs: await rollout(spec, previous) };
}

export async function read(id: string, props: HostProps): Promise<pulumi.dynamic.ReadResult> {
  const spec = specOf(props);
  const live = await readHost(connectorFor(spec), Object.keys(spec.files ?? {}), spec.timeouts.connectSeconds, {
    rebooted: props.rebooted ?? false,
    rebootedAt: props.rebootedAt ?? "",
    rebootReason: props.rebootReason ?? "",
  });
  return { id, props: { ...props, files: live.files, ...live.outputs } };
}

export async function remove(_id: string, props: HostProps): Promise<void> {
  const spec = specOf(props);
  const cluster = clusterFor(spec);
  // Draining the Node disrupts it like a reboot: under the fleet lease too.
  const token = randomBytes(8).toString("hex");
  const lease = cluster
    ? await FleetLease.take(cluster, { host: spec.name, identity: leaseIdentity(spec.name, process.pid, os.hostname(), token), waitSeconds: spec.timeouts.lockSeconds, progress })
    : undefined;
  try {
    await removeHost(spec.name, cluster, spec.kubernetes?.nodeName, spec.timeouts, progress);
  } finally {
    await lease?.release().catch(() => undefined);
  }
}
