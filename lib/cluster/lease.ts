/**
 * The fleet-wide lease: at most maxUnavailable nodes of a cluster are disrupted at a time, never
 * two disruption groups (failure domains) at once, whichever stack, checkout or machine rolls
 * them out. It is a set of coordination.k8s.io/v1 Leases, the slots (./leaseSlots.ts; with the
 * default budget of one, the single Lease kube-system/nixos-fleet-rollout), one held while a host
 * is rolled out, renewed while held, released at the end, and taken over only once it expired
 * (renewTime + leaseDurationSeconds passed on the taker's clock, so the machines' clocks must be
 * synchronized, as for kured's lock). Anyone can see who holds them:
 * `kubectl -n kube-system get leases`. Every write names the resourceVersion it read, so of two
 * rollouts racing for one slot one wins; a taker reads all slots again after its write and gives
 * its slot back when that read shows the budget or the groups broken, so of two rollouts that
 * took two slots at once the later one never goes on.
 */
import { RolloutError } from "../rollout/errors";
import type { Progress } from "../rollout/progress";
import { type Clock, done, formatSeconds, notYet, realClock, waitUntil, WaitTimeoutError } from "../rollout/wait";
import type { Cluster, LeaseState } from "./cluster";
import {
  type Blocker,
  checkClaim,
  type Claim,
  describeGroup,
  FLEET_LEASE_DEFAULTS,
  groupOf,
  holderIdentity,
  judgeSlots,
  nodesDisruptedByOthers,
  releasingSpec,
  takingSpec,
} from "./leaseSlots";

export {
  FLEET_LEASE_DEFAULTS,
  judgeLease,
  leaseExpiry,
  leaseIdentity,
  type LeaseVerdict,
  mayTake,
  releasingSpec,
  slotName,
  takingSpec,
} from "./leaseSlots";

/** How FleetLease.take waits. */
export interface FleetLeaseOptions {
  /** The host about to be rolled out (for messages). */
  readonly host: string;
  /** Who holds it, readable, unique per rollout; the holderIdentity adds the group to it. */
  readonly identity: string;
  readonly waitSeconds: number;
  readonly progress: Progress;
  readonly clock?: Clock;
  readonly durationSeconds?: number;
  readonly renewEverySeconds?: number;
  /** How many hosts of the cluster may be disrupted at once (default 1: the single Lease, as always). */
  readonly maxUnavailable?: number;
  /** The rollout's disruption group (default "": the fleet has no failure domains). */
  readonly group?: string;
  /** Draws the pause before a retry after giving a slot back, in [0, 1). */
  readonly random?: () => number;
}

const at = (slot: string) => `${FLEET_LEASE_DEFAULTS.namespace}/${slot}`;

/** "kube-system/nixos-fleet-rollout, held by X" for each blocker, and why it blocks. */
function describeBlockers(blockers: readonly Blocker[], claim: Claim, host: string): string {
  const held = blockers.map((b) => `${at(b.slot)}, held by ${b.holder}`).join("; ");
  if (blockers.some((b) => b.why === "group")) {
    return `${held} (its holder is in ${describeGroup(groupOf(blockers[0].holder))}; ${host} is in ${describeGroup(claim.group)})`;
  }
  return claim.maxUnavailable === 1 ? held : `${held} (${blockers.length} of at most ${claim.maxUnavailable} hosts disrupted at once)`;
}

/** The rule a rollout waited for, as the error says it. */
function rule(blockers: readonly Blocker[], claim: Claim): string {
  if (blockers.some((b) => b.why === "group")) return "hosts of two failure domains, or a control-plane host and any other host, are never disrupted at once";
  return claim.maxUnavailable === 1 ? "at most one node of the cluster is disrupted at a time" : `at most ${claim.maxUnavailable} nodes of the cluster are disrupted at a time`;
}

/** The fleet lease while this rollout holds it. */
export class FleetLease {
  private timer: NodeJS.Timeout | undefined;
  private renewal: Promise<void> = Promise.resolve();
  private lostTo: string | undefined;

  private constructor(
    private readonly cluster: Cluster,
    private readonly o: FleetLeaseOptions,
    private readonly me: string,
    private readonly slotName: string,
    private current: LeaseState,
  ) {}

  /**
   * Waits until a slot may be taken (the budget is not used up and every live holder is of our
   * group), takes it, checks on a fresh read that the claim stands, and starts renewing it.
   */
  static async take(cluster: Cluster, o: FleetLeaseOptions): Promise<FleetLease> {
    const clock = o.clock ?? realClock;
    const duration = o.durationSeconds ?? FLEET_LEASE_DEFAULTS.durationSeconds;
    const group = o.group ?? "";
    const claim: Claim = { me: holderIdentity(o.identity, group), group, maxUnavailable: o.maxUnavailable ?? 1 };
    const { namespace } = FLEET_LEASE_DEFAULTS;
    let blockers: readonly Blocker[] = [];
    let said = false;
    const waitFor = (found: readonly Blocker[]) => {
      blockers = found;
      if (!said) o.progress(`${o.host}: waiting for the fleet lease ${describeBlockers(found, claim, o.host)}`);
      said = true;
      return notYet(found.map((b) => `${at(b.slot)} held by ${b.holder} until ${new Date(b.untilMs).toISOString()}`).join("; "));
    };
    try {
      const held = await waitUntil({ what: `the fleet lease ${at(FLEET_LEASE_DEFAULTS.name)}`, timeoutSeconds: o.waitSeconds, intervalMs: 1000, clock: o.clock }, async () => {
        const verdict = judgeSlots(await cluster.listLeases(namespace), claim, clock.now());
        if (verdict.kind === "wait") return waitFor(verdict.blockers);
        if (verdict.expired) {
          o.progress(`${o.host}: taking over the fleet lease of ${verdict.expired.holder}, expired ${formatSeconds(verdict.expired.expiredForMs / 1000)} ago (${at(verdict.slot)})`);
        }
        const spec = takingSpec(verdict.seen, claim.me, clock.now(), duration);
        const written =
          verdict.seen === undefined ? await cluster.createLease(namespace, verdict.slot, spec) : await cluster.updateLease(namespace, verdict.slot, verdict.seen.resourceVersion, spec);
        if (written.kind === "conflict") return notYet("another rollout wrote the lease at the same moment");
        let check: ReturnType<typeof checkClaim>;
        try {
          check = checkClaim(await cluster.listLeases(namespace), claim, verdict.slot, clock.now());
        } catch (error) {
          // A slot we cannot vouch for must not stay held until it expires.
          await giveBack(cluster, verdict.slot, written.lease, claim.me).catch(() => undefined);
          throw error;
        }
        if (check === "lost") return notYet(`another rollout took ${at(verdict.slot)} right after us`);
        if (check.length === 0) return done({ slot: verdict.slot, lease: written.lease });
        // Another rollout took another slot at the same moment: give ours back, so that of the two at most one goes on.
        await giveBack(cluster, verdict.slot, written.lease, claim.me);
        o.progress(`${o.host}: gave ${at(verdict.slot)} back: another rollout took a slot at the same moment`);
        await clock.sleep(Math.floor((o.random ?? Math.random)() * 1000));
        return waitFor(check);
      });
      const lease = new FleetLease(cluster, o, claim.me, held.slot, held.lease);
      lease.schedule(o.renewEverySeconds ?? FLEET_LEASE_DEFAULTS.renewEverySeconds, duration);
      return lease;
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      const who =
        blockers.length === 0
          ? `${at(FLEET_LEASE_DEFAULTS.name)} is held by another rollout`
          : blockers.map((b) => `${at(b.slot)} is held by ${b.holder}, until ${new Date(b.untilMs).toISOString()} unless renewed`).join("; ");
      throw new RolloutError(
        o.host,
        "lock",
        `the fleet lease ${who} (waited ${o.waitSeconds}s); ${rule(blockers, claim)}`,
        `another rollout (another stack or checkout of this fleet) is rolling out a node of this cluster: let it finish, then run the rollout again. ` +
          `If that rollout was killed, the lease expires by itself and the next rollout takes it over; see it with kubectl -n ${namespace} get leases -o yaml.`,
        undefined,
        error,
      );
    }
  }

  /** The Lease this rollout holds. */
  get slot(): string {
    return this.slotName;
  }

  /** The Nodes other rollouts holding a slot are disrupting now (their own rollouts answer for them). */
  async nodesOfOthers(): Promise<string[]> {
    const clock = this.o.clock ?? realClock;
    return nodesDisruptedByOthers(await this.cluster.listLeases(FLEET_LEASE_DEFAULTS.namespace), this.me, clock.now());
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
    await giveBack(this.cluster, this.slotName, this.current, this.me);
  }

  private schedule(everySeconds: number, duration: number): void {
    const clock = this.o.clock ?? realClock;
    this.timer = setInterval(() => {
      this.renewal = this.renewal.then(async () => {
        if (this.lostTo !== undefined) return;
        const { namespace } = FLEET_LEASE_DEFAULTS;
        const name = this.slotName;
        try {
          const r = await this.cluster.updateLease(namespace, name, this.current.resourceVersion, takingSpec(this.current, this.me, clock.now(), duration));
          if (r.kind === "written") {
            this.current = r.lease;
            return;
          }
          const seen = await this.cluster.getLease(namespace, name);
          if (seen && seen.spec.holderIdentity === this.me) this.current = seen;
          else {
            this.lostTo = seen?.spec.holderIdentity ?? "nobody";
            this.o.progress(`${this.o.host}: the fleet lease ${at(name)} is no longer ours; it is held by ${this.lostTo}`);
          }
        } catch {
          // The API server may be briefly away; the lease's duration leaves room for the next try.
        }
      });
    }, everySeconds * 1000);
    this.timer.unref();
  }
}

/** Gives a slot up if it still names `me`: at the version we wrote, else at the version read again. */
async function giveBack(cluster: Cluster, slot: string, ours: LeaseState, me: string): Promise<void> {
  const { namespace } = FLEET_LEASE_DEFAULTS;
  const r = await cluster.updateLease(namespace, slot, ours.resourceVersion, releasingSpec(ours));
  if (r.kind === "written") return;
  const seen = await cluster.getLease(namespace, slot);
  if (seen?.spec.holderIdentity === me) await cluster.updateLease(namespace, slot, seen.resourceVersion, releasingSpec(seen));
}
