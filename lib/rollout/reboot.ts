/**
 * A health-gated reboot of one host: reboot, wait until it is back on a new boot, check it
 * booted the expected system, wait for systemd to settle and for the kubelet to report the
 * Node Ready with the new boot id.
 */
import type { Cluster } from "../cluster/cluster";
import type { Guard } from "../nixos/guard";
import { confirmWindowMs, waitForGuardReturn } from "./confirm";
import { RolloutError } from "./errors";
import type { Progress } from "./progress";
import type { NixosOps, SystemState } from "../nixos/ops";
import { isUnreachable } from "./session";
import type { Timeouts } from "./spec";
import { type Clock, done, formatSeconds, notYet, realClock, waitUntil, WaitTimeoutError } from "./wait";

export interface RebootOptions {
  readonly host: string;
  /** The system the host must boot (the profile's boot default). */
  readonly expectSystem: string;
  readonly nodeName?: string;
  readonly timeouts: Timeouts;
  readonly clock?: Clock;
  readonly progress: Progress;
  /**
   * The boot guard armed for the new system (lib/nixos/guard.ts): the first connection to the
   * new boot confirms it; a host that cannot be reached returns to `guard.previous` by itself.
   */
  readonly guard?: Extract<Guard, { kind: "boot" }>;
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
  const rebootSeconds = o.timeouts.shutdownSeconds + o.timeouts.bootSeconds;
  // With a guard, the first boot we reach may be the guard's return to the previous system.
  const guardSeconds = o.guard ? o.guard.seconds + rebootSeconds : 0;
  const bootId = await wrapWait(o.host, "boot", "the host may be stuck in firmware or the boot loader; check its console.", () =>
    waitUntil(
      {
        what: `${o.host} to come back on a new boot (old boot ${shortId(before)})`,
        timeoutSeconds: rebootSeconds + guardSeconds,
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
  if (o.guard) await confirmBoot(ops, o, state.booted.system, rebootSeconds);
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

/**
 * The first connection to the new boot confirms its guard. A host found back on the previous
 * system, or whose guard fired as it was reached, was cut off by the new one: say so.
 */
async function confirmBoot(ops: NixosOps, o: RebootOptions, booted: string, rebootSeconds: number): Promise<void> {
  const guard = o.guard as Extract<Guard, { kind: "boot" }>;
  const confirm = { host: o.host, guard, timeouts: o.timeouts, clock: o.clock, progress: o.progress };
  const missed = `the host answered only after its guard's ${formatSeconds(confirmWindowMs(guard.seconds) / 1000)}`;
  if (booted === guard.previous && booted !== o.expectSystem) await waitForGuardReturn(ops, confirm, missed, rebootSeconds);
  if (booted !== o.expectSystem) return;
  const outcome = await ops.disarmGuard();
  if (outcome === "fired") await waitForGuardReturn(ops, confirm, "its guard fired as the host was reached", rebootSeconds);
  o.progress(`${o.host}: reached over a new SSH connection on its new boot; ${outcome === "disarmed" ? "the new configuration is confirmed" : "its guard was no longer armed"}`);
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
