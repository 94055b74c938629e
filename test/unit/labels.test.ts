import * as assert from "node:assert/strict";
import { labelChanges, syncNodeLabels } from "../../lib/rollout/labels";
import { FakeCluster } from "../fakes/cluster";

describe("node labels", () => {
  it("sets new and changed labels and removes only those this tool set before", () => {
    assert.deepEqual(labelChanges({}, { zone: "a" }), { set: { zone: "a" }, remove: [] });
    assert.deepEqual(labelChanges({ zone: "a", pool: "x" }, { zone: "b" }), { set: { zone: "b" }, remove: ["pool"] });
    assert.deepEqual(labelChanges({ zone: "a" }, { zone: "a" }), { set: {}, remove: [] });
  });

  it("patch the Node, leaving labels set by others", async () => {
    const c = new FakeCluster().addNode("srv2");
    c.labels.set("srv2", { "kubernetes.io/hostname": "srv2", pool: "old" });
    const lines: string[] = [];
    await syncNodeLabels(c, "srv2", "srv2", { pool: "old" }, { zone: "b" }, (l) => lines.push(l));
    assert.deepEqual(c.labels.get("srv2"), { "kubernetes.io/hostname": "srv2", zone: "b" });
    assert.deepEqual(lines, ["srv2: labelled Node srv2 zone=b pool-"]);
  });

  it("skip a Node that has not registered yet", async () => {
    const c = new FakeCluster();
    const lines: string[] = [];
    await syncNodeLabels(c, "srv9", "srv9", {}, { zone: "b" }, (l) => lines.push(l));
    assert.deepEqual(c.calls, []);
    assert.match(lines[0], /has not registered yet/);
  });
});
