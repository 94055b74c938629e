/** The host-side lock's record and its takeover decisions, and the fleet lease's, as pure functions. */
import * as assert from "node:assert/strict";
import { FleetLease, judgeLease, leaseExpiry, mayTake, releasingSpec, takingSpec } from "../../lib/cluster/lease";
import { RolloutError } from "../../lib/rollout/errors";
import { describeHolder, judgeLock, lockFileTemplate, lockRefusal, LOCK_MAGIC, mayTakeOver, parseLockRecord } from "../../lib/rollout/lockRecord";
import { FakeCluster, fastClock } from "../fakes/cluster";

const owner = { pid: 4242, machine: "ci-runner-1", token: "a1b2c3d4" };
/** The owner file as the host writes it from the template at host time `now`. */
const written = (now: number, ttl: number, o = owner) => lockFileTemplate(o).replace("@NOW@", String(now)).replace("@EXPIRES@", String(now + ttl));
const alive = () => true;
const dead = () => false;

describe("host lock record", () => {
  it("writes owner, pid, machine and expiry in one record and reads them back", () => {
    const r = parseLockRecord(written(1000, 90));
    assert.deepEqual(r, { kind: "current", token: "a1b2c3d4", pid: 4242, machine: "ci-runner-1", since: 1000, expires: 1090 });
    assert.equal(lockFileTemplate(owner).split("\n")[0], LOCK_MAGIC);
  });

  it("reads an earlier version's one-line owner and an empty owner file", () => {
    assert.deepEqual(parseLockRecord("nixos-fleet rollout by pid 7 on laptop since 2026-01-02T03:04:05.000Z\n"), {
      kind: "legacy",
      pid: 7,
      machine: "laptop",
      since: "2026-01-02T03:04:05.000Z",
    });
    assert.deepEqual(parseLockRecord(""), { kind: "unknown", text: "" });
    assert.equal(parseLockRecord(`${LOCK_MAGIC}\ntoken=x\npid=1\n`).kind, "unknown", "a record cut short is not trusted");
  });

  it("takes over an expired lock from any machine, and only once its expiry passed", () => {
    const r = parseLockRecord(written(1000, 90));
    assert.deepEqual(judgeLock(r, 1089, "another-runner", alive), { kind: "held", until: 1090 });
    assert.deepEqual(judgeLock(r, 1090, "another-runner", alive), { kind: "expired", expiredFor: 0 });
    assert.deepEqual(judgeLock(r, 1200, "another-runner", alive), { kind: "expired", expiredFor: 110 });
    assert.equal(mayTakeOver(judgeLock(r, 1089, "another-runner", alive)), false);
    assert.equal(mayTakeOver(judgeLock(r, 1200, "another-runner", alive)), true);
  });

  it("takes over at once a live lock of this machine whose process is gone, but not one whose process runs", () => {
    const r = parseLockRecord(written(1000, 90));
    assert.deepEqual(judgeLock(r, 1001, "ci-runner-1", dead), { kind: "abandoned" });
    assert.deepEqual(judgeLock(r, 1001, "ci-runner-1", alive), { kind: "held", until: 1090 });
    assert.deepEqual(judgeLock(r, 1001, "other", dead), { kind: "held", until: 1090 }, "a pid of another machine says nothing");
  });

  it("never decides about a lock without expiry unless its process is known gone", () => {
    const legacy = parseLockRecord("nixos-fleet rollout by pid 7 on laptop since 2026-01-02T03:04:05.000Z");
    assert.deepEqual(judgeLock(legacy, 5000, "laptop", dead), { kind: "abandoned" });
    assert.deepEqual(judgeLock(legacy, 5000, "ci", dead), { kind: "undecidable" });
    assert.deepEqual(judgeLock(parseLockRecord(""), 5000, "ci", dead), { kind: "undecidable" });
  });

  it("says who holds a live lock and until when, and never tells anyone to remove it", () => {
    const r = parseLockRecord(written(1_700_000_000, 90));
    const v = judgeLock(r, 1_700_000_030, "laptop", alive);
    const { summary, hint } = lockRefusal("srv2", "/var/lib/nixos-fleet/lock", r, v, 1_700_000_030);
    assert.match(summary, /held by the rollout by pid 4242 on ci-runner-1/);
    assert.match(summary, /until 2023-11-14T22:14:50\.000Z \(1m from now\)/);
    assert.doesNotMatch(hint, /\brm\b|remove/);
    assert.match(hint, /expires by itself at 2023-11-14T22:14:50\.000Z/);
    const legacy = parseLockRecord("nixos-fleet rollout by pid 7 on laptop since x");
    assert.match(lockRefusal("srv2", "/var/lib/nixos-fleet/lock", legacy, judgeLock(legacy, 0, "ci", alive), 0).hint, /rm -rf \/var\/lib\/nixos-fleet\/lock/);
    assert.equal(describeHolder(parseLockRecord("")), "a lock with no owner record");
  });
});

describe("fleet lease decisions", () => {
  const at = (iso: string) => Date.parse(iso);
  const lease = (holder: string | undefined, renew: string, seconds = 60) => ({
    resourceVersion: "7",
    spec: { ...(holder === undefined ? {} : { holderIdentity: holder }), leaseDurationSeconds: seconds, acquireTime: renew, renewTime: renew, leaseTransitions: 2 },
  });

  it("is free when absent or without holder, ours when it names us, held until renewTime + duration, then expired", () => {
    assert.deepEqual(judgeLease(undefined, "me", 0), { kind: "absent" });
    assert.deepEqual(judgeLease(lease(undefined, "2026-01-01T00:00:00.000Z"), "me", 0), { kind: "free" });
    assert.deepEqual(judgeLease(lease("me", "2026-01-01T00:00:00.000Z"), "me", at("2027-01-01T00:00:00Z")), { kind: "ours" });
    const held = judgeLease(lease("other", "2026-01-01T00:00:00.000Z"), "me", at("2026-01-01T00:00:59.999Z"));
    assert.deepEqual(held, { kind: "held", holder: "other", untilMs: at("2026-01-01T00:01:00Z") });
    assert.equal(mayTake(held), false);
    const expired = judgeLease(lease("other", "2026-01-01T00:00:00.000Z"), "me", at("2026-01-01T00:01:05Z"));
    assert.deepEqual(expired, { kind: "expired", holder: "other", expiredForMs: 5000 });
    assert.equal(mayTake(expired), true);
    assert.equal(leaseExpiry({ holderIdentity: "x" }), undefined);
  });

  it("counts a transition only when the holder changes, keeps acquireTime on renewal, and releases without a holder", () => {
    const now = at("2026-01-01T00:00:30Z");
    const renewed = takingSpec(lease("me", "2026-01-01T00:00:00.000Z"), "me", now, 60);
    assert.equal(renewed.acquireTime, "2026-01-01T00:00:00.000Z");
    assert.equal(renewed.renewTime, "2026-01-01T00:00:30.000Z");
    assert.equal(renewed.leaseTransitions, 2);
    assert.equal(takingSpec(lease("other", "2026-01-01T00:00:00.000Z"), "me", now, 60).leaseTransitions, 3);
    assert.equal(takingSpec(undefined, "me", now, 60).leaseTransitions, 0);
    const released = releasingSpec(lease("me", "2026-01-01T00:00:00.000Z"));
    assert.equal(released.holderIdentity, undefined);
    assert.equal(judgeLease({ resourceVersion: "8", spec: released }, "next", now).kind, "free");
  });

  it("waits for a live holder and reports who holds it and until when", async () => {
    const c = new FakeCluster();
    const clock = fastClock();
    const renew = new Date(clock.now()).toISOString();
    c.leases.set("kube-system/nixos-fleet-rollout", lease("rollout of srv1 by pid 1 on laptop", renew, 600));
    await assert.rejects(FleetLease.take(c, { host: "srv2", identity: "me", waitSeconds: 5, progress: () => undefined, clock }), (e: RolloutError) => {
      assert.equal(e.step, "lock");
      assert.match(e.summary, /held by rollout of srv1 by pid 1 on laptop, until \S+ unless renewed \(waited 5s\)/);
      assert.doesNotMatch(e.hint ?? "", /delete|remove/);
      return true;
    });
    assert.equal(c.leases.get("kube-system/nixos-fleet-rollout")?.spec.holderIdentity, "rollout of srv1 by pid 1 on laptop");
  });

  it("takes an expired lease over, and of two takers racing for one read only one wins", async () => {
    const c = new FakeCluster();
    const clock = fastClock();
    c.leases.set("kube-system/nixos-fleet-rollout", lease("crashed", new Date(clock.now() - 120_000).toISOString()));
    const seen = await c.getLease("kube-system", "nixos-fleet-rollout");
    const first = await c.updateLease("kube-system", "nixos-fleet-rollout", seen!.resourceVersion, takingSpec(seen, "a", clock.now(), 60));
    const second = await c.updateLease("kube-system", "nixos-fleet-rollout", seen!.resourceVersion, takingSpec(seen, "b", clock.now(), 60));
    assert.equal(first.kind, "written");
    assert.equal(second.kind, "conflict");
    c.leases.set("kube-system/nixos-fleet-rollout", lease("crashed", new Date(clock.now() - 120_000).toISOString()));
    const lines: string[] = [];
    const held = await FleetLease.take(c, { host: "srv2", identity: "me", waitSeconds: 5, progress: (l) => lines.push(l), clock });
    assert.equal(c.leases.get("kube-system/nixos-fleet-rollout")?.spec.holderIdentity, "me");
    assert.match(lines.join("\n"), /taking over the fleet lease of crashed, expired 1m ago/);
    await held.release();
    assert.equal(c.leases.get("kube-system/nixos-fleet-rollout")?.spec.holderIdentity, undefined);
  });
});
