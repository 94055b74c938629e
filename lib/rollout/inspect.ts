/**
 * Reading a host as it is (pulumi refresh) and letting go of a host (removed from the fleet).
 */
import { type Cluster, NODE_OWNER_ANNOTATION } from "../cluster/cluster";
import type { HostConnector } from "../host/host";
import { cordonAndDrain } from "./drain";
import { RolloutError, inStep } from "./errors";
import { type HostOutputs, outputsOf } from "./outputs";
import type { Progress } from "./progress";
import { ETC_NIXOS, type LiveFiles, readFiles, readSystemState } from "./remote";
import { Session } from "./session";
import type { HostSpec } from "./spec";
import type { Clock } from "./wait";

/** What a refresh finds: the managed files as they are on disk and the systems. */
export interface LiveHost {
  readonly files: Record<string, string>;
  /** Managed files that are missing on the host. */
  readonly missing: readonly string[];
  readonly outputs: HostOutputs;
}

/**
 * Reads the managed files under /etc/nixos and the current and booted systems. What the last
 * rollout did (`previous`: its reboot and its changes) is no state of the host: it is kept.
 */
export async function readHost(
  connector: HostConnector,
  names: readonly string[],
  connectSeconds: number,
  previous: Pick<HostOutputs, "rebooted" | "rebootedAt" | "rebootReason" | "changes">,
): Promise<LiveHost> {
  const session = new Session(connector, connectSeconds * 1000);
  try {
    const host = await session.host();
    const state = await readSystemState(host);
    const live: LiveFiles = await readFiles(host, names, ETC_NIXOS);
    const files: Record<string, string> = {};
    const missing: string[] = [];
    for (const n of names) {
      const c = live[n];
      if (c === null || c === undefined) missing.push(n);
      else files[n] = c;
    }
    const outputs = outputsOf(state, {
      rebooted: previous.rebooted,
      at: previous.rebootedAt ? new Date(previous.rebootedAt) : undefined,
      reason: previous.rebootReason,
    }, previous.changes);
    return { files, missing, outputs };
  } catch (error) {
    throw inStep(connector.name, "read", error);
  } finally {
    await session.close();
  }
}

/**
 * Records on the host's Node (when it has registered) that this inventory host manages it, so
 * that the delete of a host renamed away from the same nodeName leaves the Node alone.
 */
export async function claimNode(cluster: Cluster, name: string, nodeName: string, progress: Progress): Promise<void> {
  if (!(await cluster.getNode(nodeName))) return;
  const owner = await cluster.getNodeAnnotation(nodeName, NODE_OWNER_ANNOTATION);
  if (owner === name) return;
  await cluster.setNodeAnnotation(nodeName, NODE_OWNER_ANNOTATION, name);
  if (owner !== undefined) progress(`${name}: Node ${nodeName} belonged to ${owner}; it belongs to ${name} now`);
}

/**
 * The host left the inventory: cordon, drain and delete its Node object when it is a
 * Kubernetes node. The machine itself is never touched, let alone wiped. A Node that another
 * host of the fleet has claimed since (a rename that kept nodeName) is left alone.
 */
export async function removeHost(
  name: string,
  cluster: Cluster | undefined,
  nodeName: string | undefined,
  settings: Pick<HostSpec, "timeouts" | "drain">,
  progress: Progress,
  clock?: Clock,
): Promise<void> {
  if (!cluster || !nodeName) {
    progress(`${name} left the fleet; the machine was left as it is`);
    return;
  }
  const node = await cluster.getNode(nodeName);
  if (!node) {
    progress(`${name}: Node ${nodeName} is already gone`);
    return;
  }
  // A host renamed in the inventory keeps its Node: the new resource is created (and claims
  // the Node) before the old one is deleted.
  const owner = await cluster.getNodeAnnotation(nodeName, NODE_OWNER_ANNOTATION);
  if (owner !== undefined && owner !== name) {
    progress(`${name} left the fleet; Node ${nodeName} now belongs to ${owner} and was left as it is`);
    return;
  }
  try {
    await cordonAndDrain(cluster, { host: name, node: nodeName, timeoutSeconds: settings.timeouts.drainSeconds, policy: settings.drain, owner: `removal of ${name}`, clock, progress });
  } catch (error) {
    const e = inStep(name, "remove", error);
    const where = `The Node ${nodeName} stays cordoned and is deleted once a drain succeeds: run the removal again (pulumi up).`;
    throw new RolloutError(e.host, e.step, e.summary, e.hint === undefined ? where : `${e.hint} ${where}`, e.failure, e);
  }
  await cluster.deleteNode(nodeName);
  progress(`${name}: Node ${nodeName} deleted; the machine was left as it is`);
}
