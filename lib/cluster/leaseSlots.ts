/**
 * The decisions of the fleet lease (pure): which Lease a rollout reads as held, whether it may
 * take a slot, which one, and whether what it took still stands once it reads the slots again.
 *
 * The fleet lease is a set of slots, one Lease each: kube-system/nixos-fleet-rollout (slot 0,
 * the name the lease has always had) and nixos-fleet-rollout-1, -2, … A rollout with the budget
 * maxUnavailable = k takes one of the slots 0..k-1, and only while fewer than k slots (of any
 * number) are held and every live holder is of its own disruption group. The group travels in
 * the holder identity, so that it is written in the same conditional write as the holder.
 */
import type { LeaseSpec, LeaseState, NamedLease } from "./cluster";

/** Defaults of the fleet lease; one place. */
export const FLEET_LEASE_DEFAULTS = {
  namespace: "kube-system",
  name: "nixos-fleet-rollout",
  durationSeconds: 60,
  renewEverySeconds: 10,
} as const;

/** The Lease name of slot `i`: slot 0 keeps the lease's historical name. */
export function slotName(i: number): string {
  return i === 0 ? FLEET_LEASE_DEFAULTS.name : `${FLEET_LEASE_DEFAULTS.name}-${i}`;
}

const SLOT = new RegExp(`^${FLEET_LEASE_DEFAULTS.name}(?:-([1-9][0-9]*))?$`);

/** The slot a Lease name is, or undefined when it is no slot of the fleet lease. */
export function slotIndex(name: string): number | undefined {
  const m = SLOT.exec(name);
  return m === null ? undefined : m[1] === undefined ? 0 : Number(m[1]);
}

const GROUP = /\s\[group ([^\]]*)\]$/;

/** The identity of one host's rollout: readable and unique; names the host's Node when it has another name. */
export function leaseIdentity(host: string, pid: number, machine: string, token: string, node?: string): string {
  const of = node === undefined || node === host ? host : `${host} (node ${node})`;
  return `nixos-fleet rollout of ${of} by pid ${pid} on ${machine} (${token})`;
}

const ROLLOUT_OF = /^nixos-fleet rollout of (\S+)(?: \(node (\S+)\))? by pid /;

/** The Node a holder's rollout disrupts (its node, else its host); undefined for an identity of another form. */
export function nodeOfHolder(identity: string): string | undefined {
  const m = ROLLOUT_OF.exec(identity);
  return m === null ? undefined : (m[2] ?? m[1]);
}

/** The Nodes that other live holders' rollouts disrupt, sorted: while they hold their slots, those Nodes may be down. */
export function nodesDisruptedByOthers(leases: readonly NamedLease[], me: string, nowMs: number): string[] {
  const nodes = liveHolders(leases, me, nowMs).map((h) => nodeOfHolder(h.holder));
  return [...new Set(nodes.filter((n): n is string => n !== undefined))].sort();
}

/** The holderIdentity written: the rollout's identity, naming its disruption group unless it is the fleet's single group (""). */
export function holderIdentity(identity: string, group: string): string {
  return group === "" ? identity : `${identity} [group ${group}]`;
}

/** The disruption group a holder identity names; "" for one without (a fleet without failure domains, or an older release). */
export function groupOf(identity: string): string {
  return GROUP.exec(identity)?.[1] ?? "";
}

/** How a group reads in messages. */
export function describeGroup(group: string): string {
  if (group === "") return "no failure domain";
  if (group.startsWith("control-plane ")) return "a group of its own, as a control-plane host";
  return `the failure domain ${group}`;
}

/** What a rollout may do about one Lease as read. */
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

/** Decides about one Lease as read; `nowMs` is this machine's clock. */
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

/** The spec that takes (or renews) a slot for `me`. */
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

/** The spec that gives a slot up: no holder, so the next rollout takes it at once. */
export function releasingSpec(previous: LeaseState): LeaseSpec {
  const { holderIdentity: _holder, ...rest } = previous.spec;
  return { ...rest, leaseDurationSeconds: 1 };
}

/** Who a rollout waits for, and why. */
export interface Blocker {
  readonly slot: string;
  readonly holder: string;
  readonly untilMs: number;
  /** "budget": maxUnavailable hosts are disrupted already; "group": a host of another group is. */
  readonly why: "budget" | "group";
}

/** A rollout's claim on the fleet lease. */
export interface Claim {
  /** holderIdentity. */
  readonly me: string;
  readonly group: string;
  readonly maxUnavailable: number;
}

/** What to do with the slots as read. */
export type SlotsVerdict =
  | {
      readonly kind: "take";
      readonly slot: string;
      /** The slot as read (undefined: create it). */
      readonly seen: LeaseState | undefined;
      /** Its holder, when the slot is taken over from one whose term ran out. */
      readonly expired?: { readonly holder: string; readonly expiredForMs: number };
    }
  | { readonly kind: "wait"; readonly blockers: readonly Blocker[] };

interface Held {
  readonly slot: string;
  readonly holder: string;
  readonly untilMs: number;
}

/** The slots held by someone else whose term has not run out. */
function liveHolders(leases: readonly NamedLease[], me: string, nowMs: number): Held[] {
  const out: Held[] = [];
  for (const l of leases) {
    if (slotIndex(l.name) === undefined) continue;
    const v = judgeLease(l, me, nowMs);
    if (v.kind === "held") out.push({ slot: l.name, holder: v.holder, untilMs: v.untilMs });
  }
  return out;
}

/** Who stands in the way of `claim`: live holders of other groups, else all of them when the budget is used up. */
function blockersOf(leases: readonly NamedLease[], claim: Claim, nowMs: number, room: number): Blocker[] {
  const live = liveHolders(leases, claim.me, nowMs);
  const others = live.filter((h) => groupOf(h.holder) !== claim.group);
  if (others.length > 0) return others.map((h) => ({ ...h, why: "group" }));
  return live.length >= room ? live.map((h) => ({ ...h, why: "budget" })) : [];
}

/**
 * Before writing: take the lowest slot below maxUnavailable that is absent, free, expired or
 * already ours, if fewer than maxUnavailable slots are held and no live holder is of another group.
 */
export function judgeSlots(leases: readonly NamedLease[], claim: Claim, nowMs: number): SlotsVerdict {
  const blockers = blockersOf(leases, claim, nowMs, claim.maxUnavailable);
  if (blockers.length > 0) return { kind: "wait", blockers };
  const byName = new Map(leases.map((l) => [l.name, l]));
  const ours = leases.find((l) => slotIndex(l.name) !== undefined && judgeLease(l, claim.me, nowMs).kind === "ours");
  if (ours !== undefined) return { kind: "take", slot: ours.name, seen: ours };
  for (let i = 0; i < claim.maxUnavailable; i++) {
    const seen = byName.get(slotName(i));
    const v = judgeLease(seen, claim.me, nowMs);
    if (v.kind === "held") continue;
    return { kind: "take", slot: slotName(i), seen, ...(v.kind === "expired" ? { expired: { holder: v.holder, expiredForMs: v.expiredForMs } } : {}) };
  }
  // Unreachable: fewer live holders than slots below maxUnavailable leaves one of them open.
  throw new Error("the fleet lease has no open slot although its budget is not used up");
}

/**
 * After writing `slot`, on a fresh read: whether the claim stands. Two rollouts that read the
 * slots at the same moment may each write another slot; whichever wrote last sees the other here
 * and must give its slot up, so no two conflicting holders both go on (both may give up; they
 * retry). Blockers are returned when the claim must be given up.
 */
export function checkClaim(leases: readonly NamedLease[], claim: Claim, slot: string, nowMs: number): readonly Blocker[] | "lost" {
  const mine = leases.find((l) => l.name === slot);
  if (mine?.spec.holderIdentity !== claim.me) return "lost";
  // Our own slot is not among the live holders (it is ours): the others must leave room for it.
  return blockersOf(leases, claim, nowMs, claim.maxUnavailable);
}
