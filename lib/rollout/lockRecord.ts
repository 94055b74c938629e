/**
 * The host-side lock's record and the pure decisions about it: who holds it, until when, and
 * whether a rollout may take it over. The lock's clock is the host's own (`date +%s` on the
 * host writes and checks every expiry), so rollout machines with skewed clocks still agree.
 */
import { formatSeconds } from "./wait";

/** Defaults of the host-side lock; one place. */
export const HOST_LOCK_DEFAULTS = {
  /** A lock not renewed for this long is expired and may be taken over from any machine. */
  ttlSeconds: 90,
  /** The live rollout renews its lock this often (well inside ttlSeconds). */
  renewEverySeconds: 15,
} as const;

/** Who takes the lock: this rollout process. */
export interface LockOwner {
  readonly pid: number;
  /** The machine's hostname (a CI runner's may change every run). */
  readonly machine: string;
  /** Unique per rollout; the lock is ours exactly when it carries our token. */
  readonly token: string;
}

/** A lock as read from the host. */
export type LockRecord =
  /** Written by this version: owner and expiry are written together with the lock. */
  | { readonly kind: "current"; readonly token: string; readonly pid: number; readonly machine: string; readonly since: number; readonly expires: number }
  /** Written by an earlier version ("nixos-fleet rollout by pid N on H since T"): no expiry. */
  | { readonly kind: "legacy"; readonly pid: number; readonly machine: string; readonly since: string }
  /** Anything else, including an empty owner file (an earlier version crashed between mkdir and write). */
  | { readonly kind: "unknown"; readonly text: string };

/** The first line of every lock record this version writes. */
export const LOCK_MAGIC = "nixos-fleet-lock 2";

/** The owner file's contents for `owner`; the host substitutes its clock for @NOW@ and @EXPIRES@. */
export function lockFileTemplate(owner: LockOwner): string {
  return [LOCK_MAGIC, `token=${owner.token}`, `pid=${owner.pid}`, `machine=${owner.machine}`, "since=@NOW@", "expires=@EXPIRES@", ""].join("\n");
}

/** Parses an owner file as found on the host. */
export function parseLockRecord(text: string): LockRecord {
  const lines = text.split("\n").map((l) => l.trim());
  if (lines[0] === LOCK_MAGIC) {
    const kv = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf("=");
      if (i > 0) kv.set(l.slice(0, i), l.slice(i + 1));
    }
    const pid = Number(kv.get("pid"));
    const since = Number(kv.get("since"));
    const expires = Number(kv.get("expires"));
    const token = kv.get("token") ?? "";
    const machine = kv.get("machine") ?? "";
    if (token && machine && [pid, since, expires].every(Number.isInteger)) return { kind: "current", token, pid, machine, since, expires };
  }
  const m = /^nixos-fleet rollout by pid (\d+) on (\S+) since (\S+)/.exec(lines[0] ?? "");
  if (m) return { kind: "legacy", pid: Number(m[1]), machine: m[2], since: m[3] };
  return { kind: "unknown", text: text.trim() };
}

/** What a rollout may do about a lock it found. */
export type LockVerdict =
  /** A live rollout holds it until `until` (host clock, seconds since the epoch) unless renewed. */
  | { readonly kind: "held"; readonly until: number }
  /** Its expiry passed: the rollout that held it stopped renewing it. Any machine may take it over. */
  | { readonly kind: "expired"; readonly expiredFor: number }
  /** Taken by a process of this very machine that no longer exists: take it over at once. */
  | { readonly kind: "abandoned" }
  /** Written by an earlier version (no expiry) or unreadable: only a person can tell. */
  | { readonly kind: "undecidable" };

/** Whether the rollout may take a lock over now. */
export function mayTakeOver(v: LockVerdict): v is Extract<LockVerdict, { kind: "expired" | "abandoned" }> {
  return v.kind === "expired" || v.kind === "abandoned";
}

/**
 * Decides about a lock found on the host. `hostNow` is the host's clock when it was read;
 * `isAlive` checks a pid on this machine (`localMachine`).
 */
export function judgeLock(record: LockRecord, hostNow: number, localMachine: string, isAlive: (pid: number) => boolean): LockVerdict {
  if (record.kind === "unknown") return { kind: "undecidable" };
  if (record.machine === localMachine && !isAlive(record.pid)) return { kind: "abandoned" };
  if (record.kind === "legacy") return { kind: "undecidable" };
  if (hostNow >= record.expires) return { kind: "expired", expiredFor: hostNow - record.expires };
  return { kind: "held", until: record.expires };
}

/** "rollout by pid 412 on ci-7 (since 2026-…)" for messages. */
export function describeHolder(record: LockRecord): string {
  switch (record.kind) {
    case "current":
      return `the rollout by pid ${record.pid} on ${record.machine} (since ${isoOf(record.since)})`;
    case "legacy":
      return `the rollout by pid ${record.pid} on ${record.machine} (since ${record.since}, written by an earlier nixos-fleet without an expiry)`;
    case "unknown":
      return record.text ? `an unreadable lock record (${JSON.stringify(record.text.slice(0, 120))})` : "a lock with no owner record";
  }
}

/** Why the lock could not be taken, and what to do; never tells anyone to remove a live lock. */
export function lockRefusal(host: string, lockPath: string, record: LockRecord, verdict: LockVerdict, hostNow: number): { summary: string; hint: string } {
  const who = describeHolder(record);
  if (verdict.kind === "held") {
    return {
      summary: `the lock is held by ${who}, which renews it; it holds until ${isoOf(verdict.until)} (${formatSeconds(Math.max(0, verdict.until - hostNow))} from now) unless renewed`,
      hint:
        `another rollout is running on ${host}: let it finish, then run the rollout again. If that rollout was killed, ` +
        `its lock expires by itself at ${isoOf(verdict.until)} and the next rollout takes it over; nothing needs removing.`,
    };
  }
  return {
    summary: `the lock is held by ${who}; it carries no expiry, so whether that rollout still runs cannot be told from here`,
    hint:
      `make sure no rollout of ${host} runs (look for it on the machine named in the lock), then remove the lock: ` +
      `ssh root@${host} rm -rf ${lockPath} — and run the rollout again.`,
  };
}

/** Seconds since the epoch as an ISO time. */
export function isoOf(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
