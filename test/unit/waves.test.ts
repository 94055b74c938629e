import * as assert from "node:assert/strict";
import fc from "fast-check";
import { rolloutOrder } from "../../lib/inventory/order";
import { planHosts, planRolloutWaves } from "../../lib/inventory/plan";
import { disruptionGroup, planWaves, type WaveHost } from "../../lib/inventory/waves";
import { inlineInventory, loginKey, memoryIo, smallInventory, refusalsOf } from "./helpers/fixtures";

const cp = (name: string): WaveHost => ({ name, role: "control-plane" });
const w = (name: string, domain?: string): WaveHost => ({ name, role: "worker", ...(domain === undefined ? {} : { domain }) });

/** A fleet in plan order (control plane first), names unique, with up to `domains` failure domains or none. */
const fleet = fc
  .record({
    roles: fc.array(fc.constantFrom<"control-plane" | "worker">("control-plane", "worker", "worker"), { maxLength: 30 }),
    domains: fc.integer({ min: 0, max: 4 }),
    picks: fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
  })
  .map(({ roles, domains, picks }) =>
    rolloutOrder(
      roles.map((role, i): WaveHost => ({
        name: `h${i}`,
        role,
        ...(domains === 0 ? {} : { domain: `zone=z${picks[i] % domains}` }),
      })),
    ),
  );

describe("rollout waves: the planner", () => {
  it("with a budget of one is today's chain: every host alone, in plan order", () => {
    const hosts = [cp("cp1"), cp("cp2"), w("w1"), w("w2"), w("w3")];
    assert.deepEqual(planWaves(hosts, 1), [["cp1"], ["cp2"], ["w1"], ["w2"], ["w3"]]);
  });

  it("puts each control-plane host alone, before workers cut into waves of at most maxUnavailable", () => {
    const hosts = [cp("cp1"), cp("cp2"), w("w1"), w("w2"), w("w3"), w("w4"), w("w5")];
    assert.deepEqual(planWaves(hosts, 2), [["cp1"], ["cp2"], ["w1", "w2"], ["w3", "w4"], ["w5"]]);
    assert.deepEqual(planWaves(hosts, 10), [["cp1"], ["cp2"], ["w1", "w2", "w3", "w4", "w5"]]);
  });

  it("never mixes two failure domains in a wave; domains in order of first appearance, hosts in plan order", () => {
    const hosts = [cp("cp1"), w("a1", "zone=a"), w("b1", "zone=b"), w("a2", "zone=a"), w("b2", "zone=b"), w("a3", "zone=a")];
    assert.deepEqual(planWaves(hosts, 2), [["cp1"], ["a1", "a2"], ["a3"], ["b1", "b2"]]);
    assert.deepEqual(planWaves(hosts, 1), [["cp1"], ["a1"], ["a2"], ["a3"], ["b1"], ["b2"]]);
  });

  it("copes with an empty fleet and refuses a budget below one", () => {
    assert.deepEqual(planWaves([], 3), []);
    assert.throws(() => planWaves([w("w1")], 0), RangeError);
    assert.throws(() => planWaves([w("w1")], 1.5), RangeError);
  });

  it("for any fleet and budget: every host once, within budget, one domain a wave, control plane alone and first, order kept", () => {
    fc.assert(
      fc.property(fleet, fc.integer({ min: 1, max: 12 }), (hosts, budget) => {
        const waves = planWaves(hosts, budget);
        const byName = new Map(hosts.map((h) => [h.name, h]));
        // Every host exactly once, nothing else.
        assert.deepEqual([...waves.flat()].sort(), hosts.map((h) => h.name).sort());
        for (const wave of waves) {
          assert.ok(wave.length >= 1 && wave.length <= budget, `wave ${wave} exceeds ${budget}`);
          const members = wave.map((n) => byName.get(n) as WaveHost);
          assert.equal(new Set(members.map((h) => h.domain)).size, 1, `wave ${wave} mixes domains`);
          if (members.some((h) => h.role === "control-plane")) assert.equal(wave.length, 1, `control-plane host shares wave ${wave}`);
        }
        const roles = waves.map((wave) => (byName.get(wave[0]) as WaveHost).role);
        const firstWorker = roles.indexOf("worker");
        if (firstWorker >= 0) assert.ok(roles.slice(firstWorker).every((r) => r === "worker"), "a control-plane host after a worker");
        // Plan order is kept within each role and domain.
        const position = new Map(waves.flat().map((n, i) => [n, i]));
        for (const a of hosts) {
          for (const b of hosts) {
            if (a.role === b.role && a.domain === b.domain && hosts.indexOf(a) < hosts.indexOf(b)) {
              assert.ok((position.get(a.name) as number) < (position.get(b.name) as number), `${a.name} after ${b.name}`);
            }
          }
        }
        // As few waves as the rules allow: ceil(n/budget) per domain of workers, one per control-plane host.
        const perDomain = new Map<string | undefined, number>();
        for (const h of hosts) if (h.role === "worker") perDomain.set(h.domain, (perDomain.get(h.domain) ?? 0) + 1);
        const least = hosts.filter((h) => h.role === "control-plane").length + [...perDomain.values()].reduce((s, n) => s + Math.ceil(n / budget), 0);
        assert.equal(waves.length, least);
      }),
    );
  });

  it("is deterministic: the same fleet and budget give the same waves", () => {
    fc.assert(fc.property(fleet, fc.integer({ min: 1, max: 5 }), (hosts, budget) => assert.deepEqual(planWaves(hosts, budget), planWaves([...hosts], budget))));
  });

  it("gives control-plane hosts a group of their own, workers their domain's or the fleet's", () => {
    assert.equal(disruptionGroup(cp("cp1")), "control-plane cp1");
    assert.equal(disruptionGroup({ name: "cp2", role: "control-plane", domain: "zone=a" }), "control-plane cp2");
    assert.equal(disruptionGroup(w("w1", "zone=a")), "zone=a");
    assert.equal(disruptionGroup(w("w1")), "");
  });
});

type Json = Record<string, unknown>;
type Inv = Json & { hosts: Json[] };

function zoned(edit: (inv: Inv) => void = () => {}): Inv {
  const inv = smallInventory([{ name: "srv1", role: "control-plane" }, { name: "srv2" }, { name: "srv3" }, { name: "srv4" }]) as Inv;
  inv.rollout = { maxUnavailable: 2, failureDomainLabel: "topology.kubernetes.io/zone" };
  const zones = ["a", "a", "b", "a"];
  inv.hosts.forEach((h, i) => (h.labels = { "topology.kubernetes.io/zone": `zone-${zones[i]}` }));
  edit(inv);
  return inv;
}

const issuesOf = refusalsOf;

describe("rollout waves: the inventory's rollout section", () => {
  it("defaults to one host at a time without failure domains or hooks", () => {
    const inv = inlineInventory(smallInventory([{ name: "srv1", role: "control-plane" }, { name: "srv2" }, { name: "srv3" }]));
    assert.deepEqual(inv.rollout, { maxUnavailable: 1, before: [], after: [] });
    assert.deepEqual(planRolloutWaves(inv), [["srv1"], ["srv2"], ["srv3"]]);
  });

  it("plans waves by the budget and the hosts' failure-domain labels", () => {
    assert.deepEqual(planRolloutWaves(inlineInventory(zoned())), [["srv1"], ["srv2", "srv4"], ["srv3"]]);
    // A budget larger than the fleet is fine.
    assert.deepEqual(planRolloutWaves(inlineInventory(zoned((i) => ((i.rollout as Json).maxUnavailable = 50)))), [["srv1"], ["srv2", "srv4"], ["srv3"]]);
  });

  it("hands the budget and each host's disruption group to the rollout", () => {
    const specs = planHosts(inlineInventory(zoned()), { sshPrivateKey: loginKey(), values: {} }, memoryIo("/project", {}));
    assert.deepEqual(
      specs.map((s) => [s.name, s.disruption]),
      [
        ["srv1", { maxUnavailable: 2, group: "control-plane srv1" }],
        ["srv2", { maxUnavailable: 2, group: "topology.kubernetes.io/zone=zone-a" }],
        ["srv3", { maxUnavailable: 2, group: "topology.kubernetes.io/zone=zone-b" }],
        ["srv4", { maxUnavailable: 2, group: "topology.kubernetes.io/zone=zone-a" }],
      ],
    );
  });

  it("refuses a budget that is not a whole number of at least one, saying what to give", () => {
    for (const bad of [0, -1]) assert.match(issuesOf(zoned((i) => ((i.rollout as Json).maxUnavailable = bad))).get("rollout.maxUnavailable") ?? "", /less than 1; at least one host/);
    assert.match(issuesOf(zoned((i) => ((i.rollout as Json).maxUnavailable = 1.5))).get("rollout.maxUnavailable") ?? "", /1\.5 is not a whole number; give how many hosts/);
    assert.match(issuesOf(zoned((i) => ((i.rollout as Json).maxUnavailable = "two"))).get("rollout.maxUnavailable") ?? "", /expected a number, got "two"/);
    assert.match(issuesOf(zoned((i) => ((i.rollout as Json).maxUnavailable = 5000))).get("rollout.maxUnavailable") ?? "", /5000 is more than 1000/);
    // What `pulumi config set --path` stores is a string.
    assert.equal(inlineInventory(zoned((i) => ((i.rollout as Json).maxUnavailable = "3"))).rollout.maxUnavailable, 3);
  });

  it("refuses a failure-domain label that is no label key, and unknown rollout keys", () => {
    assert.match(issuesOf(zoned((i) => ((i.rollout as Json).failureDomainLabel = "Zone Name"))).get("rollout.failureDomainLabel") ?? "", /"Zone Name" is not a label key/);
    assert.ok(issuesOf(zoned((i) => ((i.rollout as Json).maxUnavaliable = 2))).has("rollout.maxUnavaliable"));
  });

  it("names every host without the failure-domain label, and the key to give it", () => {
    const found = issuesOf(
      zoned((i) => {
        delete (i.hosts[2].labels as Json)["topology.kubernetes.io/zone"];
        i.hosts[3].labels = {};
      }),
    );
    assert.match(found.get("hosts[2].labels") ?? "", /^srv3 has no label topology\.kubernetes\.io\/zone, which rollout\.failureDomainLabel names: give it its failure domain/);
    assert.match(found.get("hosts[3].labels") ?? "", /^srv4 has no label topology\.kubernetes\.io\/zone/);
    assert.equal(found.size, 2);
    const empty = issuesOf(zoned((i) => ((i.hosts[1].labels as Json)["topology.kubernetes.io/zone"] = "")));
    assert.match(empty.get('hosts[1].labels["topology.kubernetes.io/zone"]') ?? "", /srv2's topology\.kubernetes\.io\/zone is empty/);
  });
});
