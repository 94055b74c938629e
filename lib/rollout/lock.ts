/**
 * The host-side lock (/var/lib/nixos-fleet/lock): one rollout per host at a time, from any
 * machine. The lock is a folder holding an `owner` record (lockRecord.ts). It is taken by
 * preparing the folder with its owner record under a temporary name and renaming it into place,
 * so no crash leaves a lock without an owner. Every change happens under a host-side `flock`
 * (util-linux, on every NixOS system), so checking a lock and taking it over is one step for
 * two rollouts racing. The live rollout renews the expiry every few seconds over its session;
 * a lock whose expiry passed is taken over by the next rollout from any machine.
 */
import type { Host } from "../host/host";
import { shellQuote } from "../host/quote";
import { RolloutError } from "./errors";
import {
  HOST_LOCK_DEFAULTS,
  judgeLock,
  type LockOwner,
  type LockRecord,
  lockFileTemplate,
  lockRefusal,
  type LockVerdict,
  mayTakeOver,
  parseLockRecord,
  describeHolder,
} from "./lockRecord";
import type { Progress } from "./progress";
import { FLEET_STATE_DIR, LOCK_DIR, run } from "./remote";
import type { Session } from "./session";
import { type Clock, done, notYet, waitUntil, WaitTimeoutError } from "./wait";

const GUARD = `${FLEET_STATE_DIR}/lock.guard`;
/** How long one lock operation waits for another rollout's operation on the same host. */
const GUARD_WAIT_SECONDS = 10;
/** Deadline of one lock command over SSH. */
const COMMAND_MS = 30_000;

/** Opens the host-side critical section every lock operation runs in. */
function guarded(what: string, body: readonly string[]): string {
  return [
    // The first line is what an error names as the command.
    `: nixos-fleet ${what} ${LOCK_DIR}`,
    `mkdir -p -m 0700 ${FLEET_STATE_DIR}`,
    `exec 9>${GUARD}`,
    `if ! flock -w ${GUARD_WAIT_SECONDS} 9; then echo busy; exit 0; fi`,
    ...body,
  ].join("\n");
}

/** What one attempt to take the lock found. */
export type TakeResult =
  | { readonly kind: "acquired"; readonly expires: number }
  | { readonly kind: "held"; readonly hostNow: number; readonly fingerprint: string; readonly record: LockRecord }
  | { readonly kind: "busy" };

/**
 * One attempt to take the lock. With `replace`, a lock whose record still has that fingerprint
 * (as an earlier attempt reported it) is replaced: the takeover of a lock judged expired or
 * abandoned, atomic against a rollout that renewed or took it meanwhile.
 */
export async function takeOnce(host: Host, owner: LockOwner, ttlSeconds: number, replace = ""): Promise<TakeResult> {
  const template = lockFileTemplate(owner);
  const script = guarded("take-lock", [
    "set -e",
    "umask 077",
    `rm -rf ${FLEET_STATE_DIR}/lock.new.* ${FLEET_STATE_DIR}/lock.old.*`,
    "now=$(date +%s)",
    `if [ -e ${LOCK_DIR} ]; then`,
    `  fp=$(cat ${LOCK_DIR}/owner 2>/dev/null | cksum | tr ' ' '-')`,
    `  if [ "$fp" != ${shellQuote(replace)} ]; then echo "held $now $fp"; cat ${LOCK_DIR}/owner 2>/dev/null || true; exit 0; fi`,
    "fi",
    `tmp=${FLEET_STATE_DIR}/lock.new.$$`,
    `trap 'rm -rf "$tmp"' EXIT`,
    'mkdir "$tmp"',
    `sed -e "s/@NOW@/$now/" -e "s/@EXPIRES@/$((now + ${ttlSeconds}))/" > "$tmp/owner" <<'__NIXOS_FLEET_LOCK__'`,
    template.trimEnd(),
    "__NIXOS_FLEET_LOCK__",
    'sync "$tmp/owner"',
    `if [ -e ${LOCK_DIR} ]; then mv -T ${LOCK_DIR} ${FLEET_STATE_DIR}/lock.old.$$; fi`,
    `mv -T "$tmp" ${LOCK_DIR}`,
    `rm -rf ${FLEET_STATE_DIR}/lock.old.$$`,
    `echo "acquired $now $((now + ${ttlSeconds}))"`,
  ]);
  const { stdout } = await run(host, "lock", script, {
    timeoutMs: COMMAND_MS,
    what: `taking the lock ${LOCK_DIR} failed`,
    hint: `check free space and permissions under ${FLEET_STATE_DIR} on the host; no lock was left behind.`,
  });
  const [first, ...rest] = stdout.split("\n");
  const words = first.trim().split(" ");
  if (words[0] === "acquired") return { kind: "acquired", expires: Number(words[2]) };
  if (words[0] === "held") return { kind: "held", hostNow: Number(words[1]), fingerprint: words[2] ?? "", record: parseLockRecord(rest.join("\n")) };
  return { kind: "busy" };
}

/** Moves the expiry of our lock to `ttlSeconds` from now; "lost" when it is no longer ours. */
export async function renewOnce(host: Host, token: string, ttlSeconds: number): Promise<{ kind: "renewed"; expires: number } | { kind: "lost"; record: LockRecord } | { kind: "busy" }> {
  const owner = `${LOCK_DIR}/owner`;
  const script = guarded("renew-lock", [
    "now=$(date +%s)",
    `if ! grep -qx ${shellQuote(`token=${token}`)} ${owner} 2>/dev/null; then echo lost; cat ${owner} 2>/dev/null; exit 0; fi`,
    `sed "s/^expires=.*/expires=$((now + ${ttlSeconds}))/" ${owner} > ${owner}.new || exit 1`,
    `sync ${owner}.new && mv -f ${owner}.new ${owner} || exit 1`,
    `echo "renewed $((now + ${ttlSeconds}))"`,
  ]);
  const { stdout } = await run(host, "lock", script, { timeoutMs: COMMAND_MS, what: `renewing the lock ${LOCK_DIR} failed` });
  const [first, ...rest] = stdout.split("\n");
  const words = first.trim().split(" ");
  if (words[0] === "renewed") return { kind: "renewed", expires: Number(words[1]) };
  if (words[0] === "lost") return { kind: "lost", record: parseLockRecord(rest.join("\n")) };
  return { kind: "busy" };
}

/** Removes the lock if it still carries our token. */
export async function releaseOnce(host: Host, token: string, timeoutMs = COMMAND_MS): Promise<void> {
  const script = guarded("release-lock", [
    `if grep -qx ${shellQuote(`token=${token}`)} ${LOCK_DIR}/owner 2>/dev/null; then`,
    `  mv -T ${LOCK_DIR} ${FLEET_STATE_DIR}/lock.old.$$ && rm -rf ${FLEET_STATE_DIR}/lock.old.$$`,
    "fi",
  ]);
  await run(host, "lock", script, { timeoutMs, what: `releasing the lock ${LOCK_DIR} failed` });
}

/** How HostLock.take waits and whom it asks. */
export interface HostLockOptions {
  readonly host: string;
  readonly owner: LockOwner;
  /** How long to wait for a lock held by a live rollout. */
  readonly waitSeconds: number;
  /** Whether a pid of this machine (owner.machine) still runs. */
  readonly isAlive: (pid: number) => boolean;
  readonly progress: Progress;
  readonly clock?: Clock;
  readonly ttlSeconds?: number;
  readonly renewEverySeconds?: number;
}

/** A host-side lock this rollout holds, renewed in the background until released. */
export class HostLock {
  private timer: NodeJS.Timeout | undefined;
  private renewal: Promise<void> = Promise.resolve();
  private lostTo: LockRecord | undefined;

  private constructor(
    private readonly session: Session,
    private readonly o: HostLockOptions,
    readonly ttlSeconds: number,
  ) {}

  /** Waits for the lock (taking over an expired or abandoned one) and starts renewing it. */
  static async take(session: Session, o: HostLockOptions): Promise<HostLock> {
    const ttl = o.ttlSeconds ?? HOST_LOCK_DEFAULTS.ttlSeconds;
    let refusal: { summary: string; hint: string } | undefined;
    try {
      await waitUntil({ what: `the lock on ${o.host}`, timeoutSeconds: o.waitSeconds, intervalMs: 1000, clock: o.clock }, async () => {
        const host = await session.host();
        const first = await takeOnce(host, o.owner, ttl);
        if (first.kind === "acquired") return done(undefined);
        if (first.kind === "busy") return notYet("another rollout was changing the lock");
        const verdict = judgeLock(first.record, first.hostNow, o.owner.machine, o.isAlive);
        if (mayTakeOver(verdict)) {
          o.progress(`${o.host}: taking over the lock of ${describeHolder(first.record)}: ${takeoverReason(verdict)}`);
          const second = await takeOnce(host, o.owner, ttl, first.fingerprint);
          if (second.kind === "acquired") return done(undefined);
          return notYet("the lock changed while it was being taken over");
        }
        refusal = lockRefusal(o.host, LOCK_DIR, first.record, verdict, first.hostNow);
        return notYet(refusal.summary);
      });
    } catch (error) {
      if (error instanceof WaitTimeoutError && refusal) throw new RolloutError(o.host, "lock", `${refusal.summary} (waited ${o.waitSeconds}s)`, refusal.hint, undefined, error);
      if (error instanceof WaitTimeoutError) throw new RolloutError(o.host, "lock", error.message, "run the rollout again; another rollout was busy with the lock.", undefined, error);
      throw error;
    }
    const lock = new HostLock(session, o, ttl);
    lock.schedule(o.renewEverySeconds ?? HOST_LOCK_DEFAULTS.renewEverySeconds);
    return lock;
  }

  /** The record of whoever took the lock from us, if anyone did (our lock had expired). */
  get lost(): LockRecord | undefined {
    return this.lostTo;
  }

  /**
   * Renews once so the lock lasts `seconds` beyond its usual expiry: before a reboot, when the
   * host cannot be reached to renew it. A rollout killed meanwhile leaves a lock that expires
   * that much later (a rollout of the same machine takes it over at once).
   */
  async holdThrough(seconds: number): Promise<void> {
    await this.renewWith(this.ttlSeconds + seconds, true);
  }

  /** Stops renewing and removes the lock if it is still ours (one try, bounded). */
  async release(timeoutMs = COMMAND_MS): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A renewal stuck on a connection to a host that went away must not hold the release up.
    await Promise.race([this.renewal, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    const host = await this.session.host();
    await releaseOnce(host, this.o.owner.token, timeoutMs);
  }

  private schedule(everySeconds: number): void {
    this.timer = setInterval(() => void this.renewWith(this.ttlSeconds, false), everySeconds * 1000);
    // Renewal never keeps a process alive that has nothing else to do.
    this.timer.unref();
  }

  private renewWith(ttl: number, strict: boolean): Promise<void> {
    const next = this.renewal.then(async () => {
      // Only over a connection that is open: renewal never dials a host that is rebooting.
      const host = this.session.open;
      if (!host) {
        if (strict) throw new RolloutError(this.o.host, "lock", "no connection to renew the lock over");
        return;
      }
      try {
        const r = await renewOnce(host, this.o.owner.token, ttl);
        if (r.kind === "lost") {
          this.lostTo = r.record;
          this.o.progress(`${this.o.host}: the lock is no longer ours; it is held by ${describeHolder(r.record)}`);
        }
        if (strict && r.kind !== "renewed") throw new RolloutError(this.o.host, "lock", r.kind === "lost" ? `the lock was taken over by ${describeHolder(r.record)}` : "another rollout kept the lock busy");
      } catch (error) {
        if (strict) throw error;
        // A failed background renewal is retried at the next tick; the expiry leaves room for it.
      }
    });
    this.renewal = next.catch(() => undefined);
    return next;
  }
}

function takeoverReason(v: Extract<LockVerdict, { kind: "expired" | "abandoned" }>): string {
  return v.kind === "abandoned" ? "that process no longer runs on this machine" : `it expired ${v.expiredFor}s ago without being renewed`;
}

