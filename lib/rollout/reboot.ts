/**
 * A health-gated reboot of one host: reboot, wait until it is back on a new boot, check it
 * booted the expected system, wait for systemd to settle and for the kubelet to report the
 * Node Ready with the new boot id.
 */
import type { Cluster } from "../cluster/cluster";
import { RolloutError } from "./errors";
import type { Progress } from "./progress";
import type { NixosOps, SystemState } from "../nixos/ops";
import { isUnreachable } from "./session";
import type { Timeouts } from "./spec";
import { type Clock, done, notYet, realClock, waitUntil, WaitTimeoutError } from "./wait";

export interface RebootOptions {
  readonly host: string;
  /** The system the host must boot (the profile's boot default). */
  readonly expectSystem: string;
  readonly nodeName?: string;
  readonly timeouts: Timeouts;
  readonly clock?: Clock;
  readonly progress: Progress;
}

/** What the host came back with. */
export interface Booted {
  readonly bootId: string;
  readonly at: Date;
  /** The host's systems as read right after it came back. */
  readonly state: SystemState;
}

const shortId = (id: string) => id.slice(0, 8);
/** Deadline of one reachability probe while a host reboots. */
const PROBE_MS = 300;

/** Reboots and waits for the new boot; the caller handles cordon/uncordon and health gates. */
export async function rebootAndWait(ops: NixosOps, cluster: Cluster | undefined, o: RebootOptions): Promise<Booted> {
  const clock = o.clock ?? realClock;
  const connectMs = o.timeouts.connectSeconds * 1000;
  const before = await ops.readBootId(connectMs);
  o.progress(`rebooting ${o.host}`);
  await ops.reboot();
  let probes = 0;
  const bootId = await wrapWait(o.host, "boot", "the host may be stuck in firmware or the boot loader; check its console.", () =>
    waitUntil(
      {
        what: `${o.host} to come back on a new boot (old boot ${shortId(before)})`,
        timeoutSeconds: o.timeouts.shutdownSeconds + o.timeouts.bootSeconds,
        intervalMs: 250,
        clock,
      },
      async (remaining) => {
        // A TCP probe with a short deadline notices the host's return within a poll or two,
        // where a connection attempt sent while it was down would sit in SYN retransmits.
        // Every fourth probe waits as long as a connection may take, for slow networks.
        const probeMs = ++probes % 4 === 0 ? connectMs : PROBE_MS;
        if (!(await ops.reachable(Math.min(remaining, probeMs)))) return notYet("not answering on its SSH port");
        await ops.reconnect(Math.min(remaining, connectMs));
        const id = await ops.readBootId(connectMs);
        return id && id !== before ? done(id) : notYet("still on the old boot");
      },
      isUnreachable,
    ),
  );
  const at = new Date(clock.now());
  const state = await ops.readSystems();
  if (state.booted.system !== o.expectSystem) {
    throw new RolloutError(
      o.host,
      "boot",
      `booted ${state.booted.system || "an unknown system"} but the boot default is ${o.expectSystem}`,
      "check the boot loader configuration (e.g. the default entry) on the host.",
    );
  }
  o.progress(`${o.host} back (boot id ${shortId(bootId)})`);
  await waitForSettle(ops, o.host, o.timeouts.settleSeconds, clock);
  if (cluster && o.nodeName) await waitForNodeReady(cluster, o.nodeName, bootId, o, clock);
  return { bootId, at, state };
}

/** Waits until systemd has finished starting; throws a RolloutError of step "settle" when it is degraded or the deadline passes. */
export async function waitForSettle(ops: NixosOps, host: string, timeoutSeconds: number, clock?: Clock): Promise<void> {
  await wrapWait(host, "settle", "look at `systemctl --failed` and the journal on the host.", () =>
    waitUntil(
      { what: `systemd on ${host} to finish starting`, timeoutSeconds, intervalMs: 250, clock },
      async () => {
        const s = await ops.systemd();
        if (s.state === "running") return done(undefined);
        if (s.state === "degraded") {
          throw new RolloutError(
            host,
            "settle",
            `systemd reports degraded${s.failedUnits ? `; failed units:\n${s.failedUnits}` : ""}`,
            "look at `systemctl --failed` and the journal on the host.",
          );
        }
        return notYet(s.state);
      },
    ),
  );
}

async function waitForNodeReady(cluster: Cluster, node: string, bootId: string, o: RebootOptions, clock: Clock): Promise<void> {
  await wrapWait(o.host, "ready", `look at the kubelet on ${o.host} (journalctl -u k3s or -u kubelet).`, () =>
    waitUntil(
      { what: `Node ${node} to be Ready on boot ${shortId(bootId)}`, timeoutSeconds: o.timeouts.readySeconds, intervalMs: 250, clock },
      async () => {
        const n = await cluster.getNode(node);
        if (!n) return notYet(`no Node ${node}`);
        if (n.bootId.toLowerCase() !== bootId.toLowerCase()) return notYet(`kubelet still reports boot ${shortId(n.bootId)}`);
        return n.ready ? done(undefined) : notYet("NotReady");
      },
    ),
  );
  o.progress(`kubelet Ready on ${o.host}`);
}

/** Turns a WaitTimeoutError into a RolloutError of `step`. */
async function wrapWait<T>(host: string, step: "boot" | "settle" | "ready", hint: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (error) {
    if (error instanceof WaitTimeoutError) throw new RolloutError(host, step, error.message, hint, undefined, error);
    throw error;
  }
}
