/**
 * The fleet-wide lease: at most one node of a cluster is disrupted at a time, whichever stack,
 * checkout or machine rolls it out. It is a coordination.k8s.io/v1 Lease
 * (kube-system/nixos-fleet-rollout) held while a host is rolled out, renewed while held,
 * released at the end, and taken over only once it expired (renewTime + leaseDurationSeconds
 * passed on the taker's clock, so the machines' clocks must be synchronized, as for kured's lock).
 * Anyone can see who holds it: `kubectl -n kube-system get lease nixos-fleet-rollout`.
 * Every write names the resourceVersion it read, so of two rollouts racing for it one wins.
 */
import { RolloutError } from "../rollout/errors";
import type { Progress } from "../rollout/progress";
import { type Clock, done, formatSeconds, notYet, realClock, waitUntil, WaitTimeoutError } from "../rollout/wait";
import type { Cluster, LeaseSpec, LeaseState } from "./cluster";

/** Defaults of the fleet lease; one place. */
export const FLEET_LEASE_DEFAULTS = {
  namespace: "kube-system",
  name: "nixos-fleet-rollout",
  durationSeconds: 60,
  renewEverySeconds: 10,
} as const;

/** What a rollout may do about the lease as read. */
export type LeaseVerdict =
  | { readonly kind: "absent" }
  | { readonly kind: "free" }
  | { readonly kind: "ours" }
  | { readonly kind: "held"; readonly holder: string; readonly untilMs: number }
  | { readonly kind: "expired"; readonly holder: string; readonly expiredForMs: number };

/** Whether the lease may be written by `me` now. */
export function mayTake(v: LeaseVerdict): boolean {
  return v.kind !== "held";
}

/** When a lease runs out: its last renewal (or acquisition) plus its duration; undefined when it never does. */
export function leaseExpiry(spec: LeaseSpec): number | undefined {
  const last = spec.renewTime ?? spec.acquireTime;
  if (last === undefined || spec.leaseDurationSeconds === undefined) return undefined;
  return Date.parse(last) + spec.leaseDurationSeconds * 1000;
}

/** Decides about the lease as read; `nowMs` is this machine's clock. */
export function judgeLease(lease: LeaseState | undefined, me: string, nowMs: number): LeaseVerdict {
  if (lease === undefined) return { kind: "absent" };
  const holder = lease.spec.holderIdentity ?? "";
  if (holder === "") return { kind: "free" };
  if (holder === me) return { kind: "ours" };
  const until = leaseExpiry(lease.spec);
  // A holder without a duration never expires by itself: treat it as held for a full default term from now.
  if (until === undefined) return { kind: "held", holder, untilMs: nowMs + FLEET_LEASE_DEFAULTS.durationSeconds * 1000 };
  return nowMs >= until ? { kind: "expired", holder, expiredForMs: nowMs - until } : { kind: "held", holder, untilMs: until };
}

/** The spec that takes (or renews) the lease for `me`. */
export function takingSpec(previous: LeaseState | undefined, me: string, nowMs: number, durationSeconds: number): LeaseSpec {
  const now = new Date(nowMs).toISOString();
  const prev = previous?.spec;
  const renewing = prev?.holderIdentity === me;
  return {
    holderIdentity: me,
    leaseDurationSeconds: durationSeconds,
    acquireTime: renewing && prev?.acquireTime ? prev.acquireTime : now,
    renewTime: now,
    leaseTransitions: (prev?.leaseTransitions ?? 0) + (renewing || !prev?.holderIdentity ? 0 : 1),
  };
}

/** The spec that gives the lease up: no holder, so the next rollout takes it at once. */
export function releasingSpec(previous: LeaseState): LeaseSpec {
  const { holderIdentity: _holder, ...rest } = previous.spec;
  return { ...rest, leaseDurationSeconds: 1 };
}

/** How FleetLease.take waits. */
export interface FleetLeaseOptions {
  /** The host about to be rolled out (for messages). */
  readonly host: string;
  /** holderIdentity: who holds it, readable, unique per rollout. */
  readonly identity: string;
  readonly waitSeconds: number;
  readonly progress: Progress;
  readonly clock?: Clock;
  readonly durationSeconds?: number;
  readonly renewEverySeconds?: number;
}

const where = `${FLEET_LEASE_DEFAULTS.namespace}/${FLEET_LEASE_DEFAULTS.name}`;

/** The fleet lease while this rollout holds it. */
export class FleetLease {
  private timer: NodeJS.Timeout | undefined;
  private renewal: Promise<void> = Promise.resolve();
  private lostTo: string | undefined;

  private constructor(
    private readonly cluster: Cluster,
    private readonly o: FleetLeaseOptions,
    private current: LeaseState,
  ) {}

  /** Waits until the lease is free or expired, takes it and starts renewing it. */
  static async take(cluster: Cluster, o: FleetLeaseOptions): Promise<FleetLease> {
    const clock = o.clock ?? realClock;
    const duration = o.durationSeconds ?? FLEET_LEASE_DEFAULTS.durationSeconds;
    const { namespace, name } = FLEET_LEASE_DEFAULTS;
    let blocked: Extract<LeaseVerdict, { kind: "held" }> | undefined;
    let said = false;
    try {
      const lease = await waitUntil({ what: `the fleet lease ${where}`, timeoutSeconds: o.waitSeconds, intervalMs: 1000, clock: o.clock }, async () => {
        const seen = await cluster.getLease(namespace, name);
        const verdict = judgeLease(seen, o.identity, clock.now());
        if (verdict.kind === "held") {
          blocked = verdict;
          if (!said) o.progress(`${o.host}: waiting for the fleet lease ${where}, held by ${verdict.holder}`);
          said = true;
          return notYet(`held by ${verdict.holder} until ${new Date(verdict.untilMs).toISOString()}`);
        }
        if (verdict.kind === "expired") o.progress(`${o.host}: taking over the fleet lease of ${verdict.holder}, expired ${formatSeconds(verdict.expiredForMs / 1000)} ago`);
        const spec = takingSpec(seen, o.identity, clock.now(), duration);
        const written = seen === undefined ? await cluster.createLease(namespace, name, spec) : await cluster.updateLease(namespace, name, seen.resourceVersion, spec);
        return written.kind === "written" ? done(written.lease) : notYet("another rollout wrote the lease at the same moment");
      });
      const held = new FleetLease(cluster, o, lease);
      held.schedule(o.renewEverySeconds ?? FLEET_LEASE_DEFAULTS.renewEverySeconds, duration);
      return held;
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      const who = blocked ? `${blocked.holder}, until ${new Date(blocked.untilMs).toISOString()} unless renewed` : "another rollout";
      throw new RolloutError(
        o.host,
        "lock",
        `the fleet lease ${where} is held by ${who} (waited ${o.waitSeconds}s); at most one node of the cluster is disrupted at a time`,
        `another rollout (another stack or checkout of this fleet) is rolling out a node of this cluster: let it finish, then run the rollout again. ` +
          `If that rollout was killed, the lease expires by itself and the next rollout takes it over; see it with kubectl -n ${namespace} get lease ${name} -o yaml.`,
        undefined,
        error,
      );
    }
  }

  /** Who took the lease from us, if anyone did (ours expired unrenewed). */
  get lost(): string | undefined {
    return this.lostTo;
  }

  /** Stops renewing and gives the lease up if it is still ours. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewal;
    if (this.lostTo !== undefined) return;
    const { namespace, name } = FLEET_LEASE_DEFAULTS;
    const r = await this.cluster.updateLease(namespace, name, this.current.resourceVersion, releasingSpec(this.current));
    if (r.kind === "conflict") {
      // Changed since our last renewal: give it up only if it still names us.
      const seen = await this.cluster.getLease(namespace, name);
      if (seen?.spec.holderIdentity === this.o.identity) await this.cluster.updateLease(namespace, name, seen.resourceVersion, releasingSpec(seen));
    }
  }

  private schedule(everySeconds: number, duration: number): void {
    const clock = this.o.clock ?? realClock;
    this.timer = setInterval(() => {
      this.renewal = this.renewal.then(async () => {
        if (this.lostTo !== undefined) return;
        const { namespace, name } = FLEET_LEASE_DEFAULTS;
        try {
          const r = await this.cluster.updateLease(namespace, name, this.current.resourceVersion, takingSpec(this.current, this.o.identity, clock.now(), duration));
          if (r.kind === "written") {
            this.current = r.lease;
            return;
          }
          const seen = await this.cluster.getLease(namespace, name);
          if (seen && seen.spec.holderIdentity === this.o.identity) this.current = seen;
          else {
            this.lostTo = seen?.spec.holderIdentity ?? "nobody";
            this.o.progress(`${this.o.host}: the fleet lease ${where} is no longer ours; it is held by ${this.lostTo}`);
          }
        } catch {
          // The API server may be briefly away; the lease's duration leaves room for the next try.
        }
      });
    }, everySeconds * 1000);
    this.timer.unref();
  }
}

/** holderIdentity of one host's rollout: readable and unique. */
export function leaseIdentity(host: string, pid: number, machine: string, token: string): string {
  return `nixos-fleet rollout of ${host} by pid ${pid} on ${machine} (${token})`;
}
