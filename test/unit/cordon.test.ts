import * as assert from "node:assert/strict";
import {
  CORDONED_AT_ANNOTATION,
  CORDONED_BY_ANNOTATION,
  cordonOf,
  releaseAfterFailedDrain,
  releaseCordon,
} from "../../lib/rollout/cordon";
import { RolloutError } from "../../lib/rollout/errors";
import { FakeCluster } from "../fakes/cluster";

const OURS = { [CORDONED_BY_ANNOTATION]: "nixos-fleet rollout by pid 7 on ci-1 since 2026-01-01T00:00:00.000Z", [CORDONED_AT_ANNOTATION]: "2026-01-01T00:00:05.000Z" };

function target(lines: string[] = []) {
  return { host: "srv2", node: "srv2", progress: (l: string) => lines.push(l) };
}

describe("cordon bookkeeping", () => {
  it("reads who holds a cordon from spec.unschedulable and the rollout's annotations", () => {
    assert.deepEqual(cordonOf({ unschedulable: false, annotations: {} }), { kind: "none" });
    assert.deepEqual(cordonOf({ unschedulable: true, annotations: {} }), { kind: "operator" });
    assert.deepEqual(cordonOf({ unschedulable: true, annotations: OURS }), { kind: "rollout", by: OURS[CORDONED_BY_ANNOTATION], at: OURS[CORDONED_AT_ANNOTATION] });
    // A record on a schedulable node holds no cordon.
    assert.deepEqual(cordonOf({ unschedulable: false, annotations: OURS }), { kind: "none" });
  });

  it("lifts a cordon a rollout set and removes its record in the same patch", async () => {
    const c = new FakeCluster().addNode("srv2", true, "b0", { unschedulable: true, annotations: { ...OURS, keep: "me" } });
    const lines: string[] = [];
    assert.equal(await releaseCordon(c, target(lines)), "uncordoned");
    assert.deepEqual(c.calls, ["uncordon srv2"]);
    assert.equal(c.nodes.get("srv2")!.unschedulable, false);
    assert.deepEqual(c.nodes.get("srv2")!.annotations, { keep: "me" });
    assert.deepEqual(lines, ["uncordoned srv2"]);
  });

  it("leaves an operator's cordon and says so", async () => {
    const c = new FakeCluster().addNode("srv2", true, "b0", { unschedulable: true });
    const lines: string[] = [];
    assert.equal(await releaseCordon(c, target(lines)), "kept-operator-cordon");
    assert.deepEqual(c.calls, []);
    assert.equal(c.nodes.get("srv2")!.unschedulable, true);
    assert.deepEqual(lines, ["srv2: left Node srv2 cordoned, as it was before the rollout"]);
  });

  it("does nothing to a schedulable node and says nothing", async () => {
    const c = new FakeCluster().addNode("srv2");
    const lines: string[] = [];
    assert.equal(await releaseCordon(c, target(lines)), "not-cordoned");
    assert.deepEqual([c.calls, lines], [[], []]);
    assert.equal(await releaseCordon(new FakeCluster(), target()), "no-node");
  });

  it("after a failed drain says truthfully where the node was left", async () => {
    const drainError = new RolloutError("srv2", "drain", "gave up after 3s waiting for pods on srv2 to be evicted", "relax the budget, then run the rollout again.");
    const ours = new FakeCluster().addNode("srv2", true, "b0", { unschedulable: true, annotations: OURS });
    const a = await releaseAfterFailedDrain(ours, target(), drainError);
    assert.equal(a.step, "drain");
    assert.match(a.message, /what to do: relax the budget, then run the rollout again\. srv2 was uncordoned and the host was not rebooted\./);
    assert.equal(ours.nodes.get("srv2")!.unschedulable, false);

    const operator = new FakeCluster().addNode("srv2", true, "b0", { unschedulable: true });
    const b = await releaseAfterFailedDrain(operator, target(), drainError);
    assert.match(b.message, /srv2 stays cordoned, as it was before the rollout and the host was not rebooted\./);
    assert.doesNotMatch(b.message, /uncordoned/);
    assert.equal(operator.nodes.get("srv2")!.unschedulable, true);
  });

  it("reports an uncordon that failed instead of hiding it", async () => {
    const c = new FakeCluster().addNode("srv2", true, "b0", { unschedulable: true, annotations: OURS });
    c.setUnschedulable = async () => {
      throw new Error("Kubernetes API uncordon node srv2 failed with HTTP 503");
    };
    const e = await releaseAfterFailedDrain(c, target(), new Error("boom"));
    assert.match(e.message, /srv2: drain failed: boom/);
    assert.match(e.message, /the host was not rebooted, but srv2 could not be uncordoned \(.*HTTP 503\); run kubectl uncordon srv2/);
  });
});
