/**
 * Stopping a rollout whose Pulumi CLI went away, at a safe point, and finishing its work on the
 * next run.
 *
 * What is safe where (the rollout checks the stop signal at each step boundary, and every wait
 * stops at its next poll):
 * - before the files are written, or after the rebuild but before the drain: stop; the host runs
 *   what it ran, or the new system live (as after a `switch` without reboot); the next run
 *   rebuilds the same files again, which changes nothing more.
 * - during the drain: stop evicting and uncordon, as a failed drain does: nothing was rebooted.
 * - once the reboot was asked for: never uncordon blindly. Nobody knows whether the new boot will
 *   come up healthy, so the node stays cordoned and gets the annotation
 *   `nixos-fleet.dev/interrupted-rollout`, which says this rollout cordoned it. The next rollout
 *   of the host sees it, waits for the host to be healthy (systemd running, Node Ready on the
 *   boot it runs now) and only then uncordons it and removes the annotation.
 * In every case the locks are released (the host lock only when the host answers within its
 * connect deadline; otherwise it expires by itself, or is taken over at once from this machine).
 */
import type { Cluster } from "../cluster/cluster";
import { RolloutError, type Step } from "./errors";
import type { Progress } from "./progress";
import type { NixosOps } from "../nixos/ops";
import { releaseCordon } from "./cordon";
import type { Timeouts } from "./spec";
import { type Clock, done, notYet, realClock, waitUntil, WaitTimeoutError } from "./wait";

/** The rollout was told to stop (its CLI is gone); thrown at the next safe point. */
export class RolloutInterrupted extends Error {
  constructor(readonly reason: string) {
    super(`the rollout was interrupted: ${reason}`);
    this.name = "RolloutInterrupted";
  }
}

/** Whether `error`, or any error it was caused by, is a RolloutInterrupted. */
export function isInterrupted(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    if (e instanceof RolloutInterrupted) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function reasonOf(signal: AbortSignal): string {
  return typeof signal.reason === "string" ? signal.reason : signal.reason instanceof Error ? signal.reason.message : "stop requested";
}

/** Throws RolloutInterrupted when `signal` says stop; call at each safe point. */
export function checkpoint(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RolloutInterrupted(reasonOf(signal));
}

/** A clock whose sleeps end with RolloutInterrupted once `signal` aborts: every wait stops at its next poll. */
export function stoppableClock(signal: AbortSignal, base: Clock = realClock): Clock {
  return {
    now: () => base.now(),
    sleep: (ms) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(new RolloutInterrupted(reasonOf(signal)));
        const onAbort = () => reject(new RolloutInterrupted(reasonOf(signal)));
        signal.addEventListener("abort", onAbort, { once: true });
        base.sleep(ms).then(() => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        }, reject);
      }),
  };
}

/** The annotation a rollout leaves on a Node it left cordoned mid-reboot. */
export const INTERRUPTED_ANNOTATION = "nixos-fleet.dev/interrupted-rollout";

/** What the annotation says. */
export interface InterruptedMark {
  readonly host: string;
  readonly step: Step;
  readonly at: string;
  /** The rollout cordoned the node: the next one may uncordon it once the host is healthy. */
  readonly cordonedByRollout: boolean;
}

/** Parses the annotation; undefined when it is not one of ours. */
export function parseMark(text: string | undefined): InterruptedMark | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<InterruptedMark>;
    if (typeof v.host === "string" && typeof v.step === "string" && typeof v.at === "string" && typeof v.cordonedByRollout === "boolean") return v as InterruptedMark;
  } catch {
    // not ours
  }
  return undefined;
}

/**
 * Leaves the node as it is (cordoned) with the mark, and turns the interruption into the error
 * the rollout ends with.
 */
export async function stopMidReboot(cluster: Cluster | undefined, node: string | undefined, host: string, step: Step, error: unknown, progress: Progress): Promise<RolloutError> {
  let left = `${host} was not uncordoned`;
  if (cluster && node) {
    const mark: InterruptedMark = { host, step, at: new Date().toISOString(), cordonedByRollout: true };
    try {
      await cluster.setNodeAnnotation(node, INTERRUPTED_ANNOTATION, JSON.stringify(mark));
      left = `${node} stays cordoned, marked ${INTERRUPTED_ANNOTATION}`;
    } catch {
      left = `${node} stays cordoned (the mark could not be written: uncordon it by hand once ${host} is healthy)`;
    }
  }
  progress(`${host}: stopped at ${step}: ${left}`);
  return new RolloutError(
    host,
    step,
    `${error instanceof Error ? error.message : String(error)}; stopped after the reboot was asked for: ${left}`,
    `run \`pulumi up\` again: the next rollout of ${host} waits for it to be healthy and uncordons it.`,
    undefined,
    error,
  );
}

/** What resumeInterrupted needs. */
export interface ResumeOptions {
  readonly host: string;
  readonly node: string;
  readonly timeouts: Timeouts;
  readonly progress: Progress;
  readonly clock?: Clock;
}

/**
 * At the start of a host's rollout: when an interrupted rollout left the node cordoned and
 * marked, waits for the host to be healthy on the boot it runs now, then uncordons the node and
 * removes the mark. A node that carries no mark is left alone.
 */
export async function resumeInterrupted(cluster: Cluster, ops: NixosOps, o: ResumeOptions): Promise<void> {
  const mark = parseMark(await cluster.getNodeAnnotation(o.node, INTERRUPTED_ANNOTATION));
  if (!mark) return;
  o.progress(`${o.host}: an earlier rollout stopped at ${mark.step} (${mark.at}) and left ${o.node} cordoned; checking the host before uncordoning it`);
  const bootId = await ops.readBootId(o.timeouts.connectSeconds * 1000);
  try {
    await waitUntil({ what: `systemd on ${o.host} to be running`, timeoutSeconds: o.timeouts.settleSeconds, intervalMs: 250, clock: o.clock }, async () => {
      const s = await ops.systemd();
      return s.state === "running" ? done(undefined) : notYet(s.state);
    });
    await waitUntil({ what: `Node ${o.node} to be Ready on boot ${bootId.slice(0, 8)}`, timeoutSeconds: o.timeouts.readySeconds, intervalMs: 250, clock: o.clock }, async () => {
      const n = await cluster.getNode(o.node);
      if (!n) return notYet(`no Node ${o.node}`);
      if (n.bootId.toLowerCase() !== bootId.toLowerCase()) return notYet(`kubelet reports boot ${n.bootId.slice(0, 8)}`);
      return n.ready ? done(undefined) : notYet("NotReady");
    });
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw new RolloutError(
      o.host,
      "ready",
      `${error.message}; the earlier rollout left ${o.node} cordoned mid-reboot and the host is not healthy, so it stays cordoned`,
      `look at the host (systemctl --failed, journalctl -u k3s); once it is healthy, run the rollout again, or uncordon it by hand: kubectl uncordon ${o.node} && kubectl annotate node ${o.node} ${INTERRUPTED_ANNOTATION}-`,
      undefined,
      error,
    );
  }
  // Lifts the cordon only when a rollout set it (its record is on the Node); an operator's stays.
  if (mark.cordonedByRollout) await releaseCordon(cluster, { host: o.host, node: o.node, progress: o.progress });
  await cluster.setNodeAnnotation(o.node, INTERRUPTED_ANNOTATION, null);
}
