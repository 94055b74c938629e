import * as assert from "node:assert/strict";
import fc from "fast-check";
import type { LeaseSpec, LeaseWrite, NamedLease } from "../../lib/cluster/cluster";
import { FleetLease, leaseIdentity } from "../../lib/cluster/lease";
import { groupOf, holderIdentity, judgeSlots, nodeOfHolder, nodesDisruptedByOthers, slotIndex, slotName } from "../../lib/cluster/leaseSlots";
import { RolloutError } from "../../lib/rollout/errors";
import { FakeCluster, fastClock } from "../fakes/cluster";

const NS = "kube-system";
const ZONE_A = "topology.kubernetes.io/zone=a";
const ZONE_B = "topology.kubernetes.io/zone=b";

/** A lease held by `holder`, renewed at `renewMs`, for `seconds`. */
function held(holder: string, renewMs: number, seconds = 600) {
  const t = new Date(renewMs).toISOString();
  return { resourceVersion: "100", spec: { holderIdentity: holder, leaseDurationSeconds: seconds, acquireTime: t, renewTime: t } };
}

const quiet = () => undefined;

describe("fleet lease slots: decisions", () => {
  it("names slot 0 as the lease always was, the others -1, -2, …, and recognises only those", () => {
    assert.deepEqual([0, 1, 2].map(slotName), ["nixos-fleet-rollout", "nixos-fleet-rollout-1", "nixos-fleet-rollout-2"]);
    assert.deepEqual(["nixos-fleet-rollout", "nixos-fleet-rollout-7", "nixos-fleet-rollout-0", "nixos-fleet-rollout-01", "kube-scheduler"].map(slotIndex), [0, 7, undefined, undefined, undefined]);
  });

  it("writes the group into the holder identity only when there is one, and reads it back", () => {
    const id = leaseIdentity("srv2", 7, "laptop", "ab12");
    assert.equal(id, "nixos-fleet rollout of srv2 by pid 7 on laptop (ab12)");
    assert.equal(holderIdentity(id, ""), id);
    const zoned = holderIdentity(id, ZONE_A);
    assert.equal(zoned, `nixos-fleet rollout of srv2 by pid 7 on laptop (ab12) [group ${ZONE_A}]`);
    assert.equal(groupOf(zoned), ZONE_A);
    assert.equal(groupOf(holderIdentity(id, "control-plane cp1")), "control-plane cp1");
    assert.equal(groupOf(id), "");
  });

  it("takes the lowest open slot below the budget, counts live holders in any slot, and ignores expired ones", () => {
    const now = 1_000_000;
    const lease = (name: string, holder: string, renewMs = now): NamedLease => ({ name, ...held(holder, renewMs, 60) });
    const claim = { me: "me", group: "", maxUnavailable: 2 };
    assert.deepEqual(judgeSlots([], claim, now), { kind: "take", slot: "nixos-fleet-rollout", seen: undefined });
    const one = judgeSlots([lease("nixos-fleet-rollout", "x")], claim, now);
    assert.equal(one.kind === "take" && one.slot, "nixos-fleet-rollout-1");
    // Two live holders use a budget of two, even when one of them sits in a slot beyond it.
    const full = judgeSlots([lease("nixos-fleet-rollout", "x"), lease("nixos-fleet-rollout-5", "y")], claim, now);
    assert.deepEqual(full.kind === "wait" && full.blockers.map((b) => [b.slot, b.why]), [["nixos-fleet-rollout", "budget"], ["nixos-fleet-rollout-5", "budget"]]);
    // An expired holder neither counts nor blocks its slot; other Leases of the namespace are not slots.
    const expired = judgeSlots([lease("nixos-fleet-rollout", "x", now - 61_000), lease("kube-scheduler", "y")], { ...claim, maxUnavailable: 1 }, now);
    assert.deepEqual(expired.kind === "take" && [expired.slot, expired.expired?.holder], ["nixos-fleet-rollout", "x"]);
    // A live holder of another group blocks whatever the budget.
    const other = judgeSlots([lease("nixos-fleet-rollout", `x [group ${ZONE_B}]`)], { me: "me", group: ZONE_A, maxUnavailable: 3 }, now);
    assert.deepEqual(other.kind === "wait" && other.blockers.map((b) => b.why), ["group"]);
  });
});

describe("fleet lease slots: FleetLease with a budget and groups", () => {
  it("with the default budget uses the one Lease kube-system/nixos-fleet-rollout and nothing else", async () => {
    const c = new FakeCluster();
    const lease = await FleetLease.take(c, { host: "srv2", identity: "me", waitSeconds: 5, progress: quiet, clock: fastClock() });
    assert.equal(lease.slot, "nixos-fleet-rollout");
    assert.deepEqual([...c.leases.keys()], ["kube-system/nixos-fleet-rollout"]);
    await lease.release();
    assert.equal(c.leases.get("kube-system/nixos-fleet-rollout")?.spec.holderIdentity, undefined);
  });

  it("lets maxUnavailable rollouts of one group hold slots at once, makes the next wait and names every holder", async () => {
    const c = new FakeCluster();
    const clock = fastClock();
    const o = { waitSeconds: 5, progress: quiet, clock, maxUnavailable: 2, group: ZONE_A };
    const a = await FleetLease.take(c, { ...o, host: "srv2", identity: "a" });
    const b = await FleetLease.take(c, { ...o, host: "srv3", identity: "b" });
    assert.deepEqual([a.slot, b.slot], ["nixos-fleet-rollout", "nixos-fleet-rollout-1"]);
    const lines: string[] = [];
    await assert.rejects(FleetLease.take(c, { ...o, host: "srv4", identity: "c", progress: (l) => lines.push(l) }), (e: RolloutError) => {
      assert.equal(e.step, "lock");
      assert.match(e.summary, /kube-system\/nixos-fleet-rollout is held by a \[group topology\.kubernetes\.io\/zone=a\], until \S+ unless renewed; kube-system\/nixos-fleet-rollout-1 is held by b \[group topology\.kubernetes\.io\/zone=a\], until \S+ unless renewed \(waited 5s\); at most 2 nodes of the cluster are disrupted at a time/);
      return true;
    });
    assert.match(lines[0], /^srv4: waiting for the fleet lease kube-system\/nixos-fleet-rollout, held by a \[group \S+\]; kube-system\/nixos-fleet-rollout-1, held by b \[group \S+\] \(2 of at most 2 hosts disrupted at once\)/);
    await a.release();
    const c3 = await FleetLease.take(c, { ...o, host: "srv4", identity: "c" });
    assert.equal(c3.slot, "nixos-fleet-rollout");
    await Promise.all([b.release(), c3.release()]);
  });

  it("never lets two groups hold at once: another domain waits, and says whose domain it waits for", async () => {
    const c = new FakeCluster();
    const clock = fastClock();
    const o = { waitSeconds: 5, clock, maxUnavailable: 3 };
    const a = await FleetLease.take(c, { ...o, progress: quiet, host: "srv2", identity: leaseIdentity("srv2", 1, "m", "t1"), group: ZONE_A });
    const lines: string[] = [];
    await assert.rejects(FleetLease.take(c, { ...o, progress: (l) => lines.push(l), host: "srv3", identity: leaseIdentity("srv3", 1, "m", "t2"), group: ZONE_B }), (e: RolloutError) => {
      assert.match(e.summary, /hosts of two failure domains, or a control-plane host and any other host, are never disrupted at once/);
      return true;
    });
    assert.match(lines[0], /held by nixos-fleet rollout of srv2 .*\(its holder is in the failure domain topology\.kubernetes\.io\/zone=a; srv3 is in the failure domain topology\.kubernetes\.io\/zone=b\)/);
    // A control-plane host is a group of its own: it waits for the worker too.
    await assert.rejects(FleetLease.take(c, { ...o, progress: quiet, host: "cp1", identity: "cp", group: "control-plane cp1" }), /never disrupted at once/);
    await a.release();
    const b = await FleetLease.take(c, { ...o, progress: quiet, host: "srv3", identity: leaseIdentity("srv3", 1, "m", "t2"), group: ZONE_B });
    assert.equal(b.slot, "nixos-fleet-rollout");
    await b.release();
  });

  it("takes over an expired holder of another domain, and a budget of one waits for a live holder in any slot", async () => {
    const c = new FakeCluster();
    const clock = fastClock();
    c.leases.set("kube-system/nixos-fleet-rollout", held(`crashed [group ${ZONE_B}]`, clock.now() - 700_000));
    const lines: string[] = [];
    const a = await FleetLease.take(c, { host: "srv2", identity: "a", group: ZONE_A, maxUnavailable: 2, waitSeconds: 5, progress: (l) => lines.push(l), clock });
    assert.equal(a.slot, "nixos-fleet-rollout");
    assert.match(lines.join("\n"), /taking over the fleet lease of crashed \[group topology\.kubernetes\.io\/zone=b\], expired 1m40s ago \(kube-system\/nixos-fleet-rollout\)/);
    // A stack with a budget of one sees the holder of slot 0 and waits, whatever its own group.
    await assert.rejects(FleetLease.take(c, { host: "srv9", identity: "z", group: ZONE_A, waitSeconds: 3, progress: quiet, clock }), /at most one node of the cluster is disrupted at a time/);
    await a.release();
  });

  it("gives its slot back when a fresh read after its write shows another domain took another slot at that moment", async () => {
    const c = new FakeCluster();
    const clock = fastClock();
    let lists = 0;
    // Between A's first read (all free) and its check after writing, B of another domain writes slot 1.
    c.beforeList = () => {
      lists++;
      if (lists === 2) c.leases.set("kube-system/nixos-fleet-rollout-1", held(`b [group ${ZONE_B}]`, clock.now()));
    };
    const lines: string[] = [];
    await assert.rejects(FleetLease.take(c, { host: "srv2", identity: "a", group: ZONE_A, maxUnavailable: 2, waitSeconds: 3, progress: (l) => lines.push(l), clock, random: () => 0.5 }), /never disrupted at once/);
    assert.equal(c.leases.get("kube-system/nixos-fleet-rollout")?.spec.holderIdentity, undefined, "A gave slot 0 back");
    assert.match(lines.join("\n"), /srv2: gave kube-system\/nixos-fleet-rollout back: another rollout took a slot at the same moment/);
  });

  it("of two rollouts racing for the same slot, exactly one writes it", async () => {
    const c = new FakeCluster();
    const clock = fastClock();
    const o = { waitSeconds: 3, progress: quiet, clock };
    const results = await Promise.allSettled([FleetLease.take(c, { ...o, host: "srv2", identity: "a" }), FleetLease.take(c, { ...o, host: "srv3", identity: "b" })]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    const winner = results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<FleetLease>;
    await winner.value.release();
  });

  it("for any budget and mix of groups, concurrent rollouts never hold past the budget or across groups, and all get through", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.constantFrom("", ZONE_A, ZONE_B, "control-plane cp1"), { minLength: 2, maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 16, maxLength: 16 }),
        async (budget, groups, delays) => {
          const c = new RacyCluster(delays);
          const clock = fastClock();
          const active: string[] = [];
          let worst = 0;
          await Promise.all(
            groups.map(async (group, i) => {
              const lease = await FleetLease.take(c, {
                host: `h${i}`,
                identity: leaseIdentity(`h${i}`, i, "m", `t${i}`),
                group,
                maxUnavailable: budget,
                waitSeconds: 86_400,
                durationSeconds: 10_000_000,
                progress: quiet,
                clock,
                random: () => 0.3,
              });
              active.push(group);
              worst = Math.max(worst, active.length);
              assert.ok(active.length <= budget, `${active.length} holders with a budget of ${budget}`);
              assert.equal(new Set(active).size, 1, `groups held at once: ${active.join(", ")}`);
              await c.pause(3);
              active.splice(active.indexOf(group), 1);
              await lease.release();
            }),
          );
          assert.ok(worst >= 1);
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** The fake cluster, with every call answered after a few turns of the event loop, so that racing rollouts interleave. */
class RacyCluster extends FakeCluster {
  private turn = 0;
  constructor(private readonly delays: readonly number[]) {
    super();
  }
  async pause(n = this.delays[this.turn++ % this.delays.length]): Promise<void> {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  }
  override async listLeases(namespace: string): Promise<NamedLease[]> {
    await this.pause();
    const out = await super.listLeases(namespace);
    await this.pause();
    return out;
  }
  override async createLease(namespace: string, name: string, spec: LeaseSpec): Promise<LeaseWrite> {
    await this.pause();
    return super.createLease(namespace, name, spec);
  }
  override async updateLease(namespace: string, name: string, resourceVersion: string, spec: LeaseSpec): Promise<LeaseWrite> {
    await this.pause();
    return super.updateLease(namespace, name, resourceVersion, spec);
  }
}

describe("fleet lease slots: a failed check after the write", () => {
  it("gives the slot back when the API fails on the read that checks the claim, and reports the error", async () => {
    const c = new FakeCluster();
    let lists = 0;
    c.beforeList = () => {
      if (++lists === 2) throw new Error("list leases in kube-system: 503 Service Unavailable");
    };
    await assert.rejects(FleetLease.take(c, { host: "srv2", identity: "a", waitSeconds: 3, progress: quiet, clock: fastClock() }), /503 Service Unavailable/);
    assert.equal(c.leases.get("kube-system/nixos-fleet-rollout")?.spec.holderIdentity, undefined);
  });
});

describe("fleet lease: the Nodes other rollouts disrupt", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads the Node from a holder identity: the node named beside the host, else the host", () => {
    assert.equal(nodeOfHolder(leaseIdentity("srv2", 12, "ci", "t1")), "srv2");
    assert.equal(nodeOfHolder(holderIdentity(leaseIdentity("srv2", 12, "ci", "t1", "node-b"), ZONE_A)), "node-b");
    assert.equal(leaseIdentity("srv2", 12, "ci", "t1", "srv2"), leaseIdentity("srv2", 12, "ci", "t1"));
    assert.equal(nodeOfHolder("kube-controller-manager"), undefined);
  });

  it("lists live holders other than this rollout, not expired ones and not other Leases", () => {
    const me = leaseIdentity("srv1", 1, "ci", "a");
    const leases: NamedLease[] = [
      { name: slotName(0), ...held(me, now) },
      { name: slotName(1), ...held(holderIdentity(leaseIdentity("srv2", 2, "ci", "b", "node-2"), ZONE_A), now) },
      { name: slotName(2), ...held(leaseIdentity("srv3", 3, "ci", "c"), now - 700_000) },
      { name: "kube-scheduler", ...held(leaseIdentity("srv4", 4, "ci", "d"), now) },
    ];
    assert.deepEqual(nodesDisruptedByOthers(leases, me, now), ["node-2"]);
  });
});
