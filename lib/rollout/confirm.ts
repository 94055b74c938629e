/**
 * Confirming a new configuration: after activating it (or booting it), the rollout must reach
 * the host over a NEW SSH connection before the host-side guard's deadline (lib/nixos/guard.ts).
 * When it cannot, the configuration cut the host off: the guard returns the host to the previous
 * system, and the rollout waits for that and says so.
 */
import type { Guard, GuardOutcome } from "../nixos/guard";
import type { NixosOps } from "../nixos/ops";
import { RolloutError } from "./errors";
import type { Progress } from "./progress";
import { isUnreachable } from "./session";
import type { Timeouts } from "./spec";
import { type Clock, done, formatSeconds, notYet, realClock, waitUntil, WaitTimeoutError } from "./wait";

/**
 * The new configuration cut the host off and its guard fired. `returned` says whether the host
 * came back on the previous system (then the rollback only has to finish the job) or is still
 * out of reach (then nothing can be done over SSH).
 */
export class CutOffError extends RolloutError {
  constructor(host: string, summary: string, hint: string, readonly returned: boolean, cause?: unknown) {
    super(host, "confirm", summary, hint, undefined, cause);
    this.name = "CutOffError";
  }
}

export function isCutOff(error: unknown): error is CutOffError {
  return error instanceof CutOffError;
}

/** The shortest time worth a connection attempt within the confirm window. */
const MIN_ATTEMPT_MS = 1000;

/** The part of the guard's deadline the rollout uses to confirm; the rest keeps it clear of the guard firing. */
export function confirmWindowMs(seconds: number): number {
  return Math.max(1000, seconds * 1000 - Math.min(5000, seconds * 250));
}

export interface ConfirmOptions {
  readonly host: string;
  readonly guard: Guard;
  readonly timeouts: Timeouts;
  readonly clock?: Clock;
  readonly progress: Progress;
}

/**
 * Reaches the host over a new connection and disarms the guard. Resolves "disarmed" when
 * confirmed, "fired" when the guard fired first (the host is returning to the previous system),
 * or "unreachable" when no new connection succeeded within the guard's window.
 */
export async function confirmOverNewConnection(ops: NixosOps, o: ConfirmOptions): Promise<{ outcome: GuardOutcome | "unreachable"; lastSeen: string }> {
  const connectMs = o.timeouts.connectSeconds * 1000;
  const windowMs = confirmWindowMs(o.guard.seconds);
  // An attempt started in the window's last moments would only time out and hide why the ones before failed.
  let lastRefusal = "";
  try {
    const outcome = await waitUntil(
      { what: `a new SSH connection to ${o.host} running ${o.guard.system}`, timeoutSeconds: windowMs / 1000, intervalMs: 500, clock: o.clock },
      async (remaining) => {
        if (remaining < MIN_ATTEMPT_MS && lastRefusal !== "") return notYet(lastRefusal);
        try {
          await ops.reconnect(Math.min(remaining, connectMs));
        } catch (error) {
          if (isUnreachable(error)) lastRefusal = error instanceof Error ? error.message : String(error);
          throw error;
        }
        return done(await ops.disarmGuard());
      },
      isUnreachable,
    );
    if (outcome === "disarmed") o.progress(`${o.host}: reached over a new SSH connection; the new configuration is confirmed`);
    return { outcome, lastSeen: "" };
  } catch (error) {
    if (error instanceof WaitTimeoutError) return { outcome: "unreachable", lastSeen: error.lastSeen };
    throw error;
  }
}

/**
 * After the guard fired: waits for the host to answer again on the previous system, then throws
 * the CutOffError that says what happened. `rebootSeconds` is how long the host may take to
 * come back when the guard reboots it (0 for the live guard).
 */
export async function waitForGuardReturn(ops: NixosOps, o: ConfirmOptions, lastSeen: string, rebootSeconds: number): Promise<never> {
  const clock = o.clock ?? realClock;
  const connectMs = o.timeouts.connectSeconds * 1000;
  const { guard } = o;
  const what = guard.kind === "live" ? `activating ${guard.system}` : `booting ${guard.system}`;
  const cut = `the new configuration cut ${o.host} off: no new SSH connection succeeded within ${formatSeconds(confirmWindowMs(guard.seconds) / 1000)} of ${what}${lastSeen ? ` (last seen: ${lastSeen})` : ""}`;
  const hint =
    "look at what the change does to sshd (services.openssh: enable, ports, PermitRootLogin), the network, or the login user's authorized keys; `pulumi preview --diff` shows it. Fix the configuration, then run the rollout again.";
  o.progress(`${o.host}: not reachable over a new SSH connection; waiting for its guard to return it to ${guard.previous}`);
  const waitSeconds = guard.seconds + rebootSeconds + o.timeouts.connectSeconds + o.timeouts.settleSeconds;
  try {
    await waitUntil(
      { what: `${o.host} to come back on ${guard.previous} (its guard fires ${guard.seconds}s after ${what})`, timeoutSeconds: waitSeconds, intervalMs: 500, clock },
      async (remaining) => {
        await ops.reconnect(Math.min(remaining, connectMs));
        const s = await ops.readSystems();
        if (s.current.system !== guard.previous) return notYet(`it runs ${s.current.system}`);
        return guard.kind === "boot" && s.booted.system !== guard.previous ? notYet(`it booted ${s.booted.system}`) : done(undefined);
      },
      isUnreachable,
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw new CutOffError(
      o.host,
      `${cut}; its guard was due to return it to ${guard.previous}, but the host has not answered since: ${error.message}`,
      `the host needs its console: check sshd and the network there. ${hint}`,
      false,
      error,
    );
  }
  // Consumes the guard's marker, so the next rollout does not report it again.
  const outcome = await ops.disarmGuard().catch(() => "none" as const);
  const by = outcome === "fired" ? "its guard returned it" : "it returned";
  throw new CutOffError(o.host, `${cut}; ${by} to ${guard.previous}${guard.kind === "boot" ? " and rebooted into it" : ""}`, hint, true);
}

/** Confirms, or waits for the guard's return and throws what happened. */
export async function confirmOrFallBack(ops: NixosOps, o: ConfirmOptions, rebootSeconds: number): Promise<void> {
  const { outcome, lastSeen } = await confirmOverNewConnection(ops, o);
  if (outcome === "disarmed") return;
  if (outcome === "none") {
    o.progress(`${o.host}: reached over a new SSH connection, but its guard was no longer armed (removed by hand?)`);
    return;
  }
  await waitForGuardReturn(ops, o, lastSeen || (outcome === "fired" ? "the guard fired as the host was reached" : ""), rebootSeconds);
}
