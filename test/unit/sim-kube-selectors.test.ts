import * as assert from "node:assert/strict";
import { type Json, applyPatch } from "../../sim/kube/patch";
import { parseFieldSelector, parseLabelSelector } from "../../sim/kube/selectors";
import { ApiError } from "../../sim/kube/status";
import { nodeState, podOwner } from "../../lib/cluster/kubeObjects";

describe("simulated API server: label selectors", () => {
  const labels = { app: "web", tier: "front", "app.kubernetes.io/name": "web" };
  const cases: ReadonlyArray<[string, boolean]> = [
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app!=db", true],
    ["missing!=x", true],
    ["app in (db, web)", true],
    ["app in (db)", false],
    ["app notin (db)", true],
    ["missing notin (db)", true],
    ["app notin (web,db)", false],
    ["tier", true],
    ["!tier", false],
    ["!missing", true],
    ["app=web,tier=front", true],
    ["app=web,tier=back", false],
    ["app in (web),!missing,app.kubernetes.io/name=web", true],
  ];
  for (const [selector, expected] of cases) {
    it(`${JSON.stringify(selector)} → ${expected}`, () => {
      assert.equal(parseLabelSelector(selector).matches(labels), expected);
    });
  }

  it("rejects malformed selectors with a 400", () => {
    for (const bad of ["app in", "app in ()", "=web", "app=(x"]) {
      assert.throws(() => parseLabelSelector(bad), (e: unknown) => e instanceof ApiError && e.code === 400, bad);
    }
  });
});

describe("simulated API server: field selectors", () => {
  const allowed = new Set(["spec.nodeName", "metadata.name"]);
  const fields = { "spec.nodeName": "w1", "metadata.name": "a,b" };

  it("matches =, == and != on supported fields", () => {
    assert.equal(parseFieldSelector("spec.nodeName=w1", allowed).matches(fields), true);
    assert.equal(parseFieldSelector("spec.nodeName==w2", allowed).matches(fields), false);
    assert.equal(parseFieldSelector("spec.nodeName!=w2", allowed).matches(fields), true);
    assert.equal(parseFieldSelector("spec.nodeName=w1,metadata.name=a\\,b", allowed).matches(fields), true);
  });

  it("refuses fields the resource does not support, like the real server", () => {
    assert.throws(
      () => parseFieldSelector("status.hostIP=1.2.3.4", allowed),
      (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === "field label not supported: status.hostIP",
    );
  });
});

describe("simulated API server: patches", () => {
  const node: Json = { metadata: { name: "w1", labels: { a: "1" } }, spec: { podCIDR: "x" } };

  it("merge patch sets and removes (null) fields", () => {
    const cordoned = applyPatch(node, "application/merge-patch+json", { spec: { unschedulable: true } });
    assert.deepEqual(cordoned, { metadata: { name: "w1", labels: { a: "1" } }, spec: { podCIDR: "x", unschedulable: true } });
    const back = applyPatch(cordoned, "application/merge-patch+json", { spec: { unschedulable: null } });
    assert.deepEqual(back, node);
  });

  it("strategic merge patch drops kubectl's $-directives", () => {
    const out = applyPatch(node, "application/strategic-merge-patch+json", { metadata: { labels: { b: "2" }, $setElementOrder: [] } });
    assert.deepEqual(out, { metadata: { name: "w1", labels: { a: "1", b: "2" } }, spec: { podCIDR: "x" } });
  });

  it("JSON patch adds, replaces, removes and tests", () => {
    const out = applyPatch(node, "application/json-patch+json", [
      { op: "test", path: "/metadata/name", value: "w1" },
      { op: "add", path: "/spec/unschedulable", value: true },
      { op: "replace", path: "/metadata/labels/a", value: "3" },
      { op: "add", path: "/metadata/labels/node-role.kubernetes.io~1edge", value: "" },
      { op: "remove", path: "/spec/podCIDR" },
    ]);
    assert.deepEqual(out, { metadata: { name: "w1", labels: { a: "3", "node-role.kubernetes.io/edge": "" } }, spec: { unschedulable: true } });
    assert.deepEqual(node, { metadata: { name: "w1", labels: { a: "1" } }, spec: { podCIDR: "x" } }, "input untouched");
    assert.throws(() => applyPatch(node, "application/json-patch+json", [{ op: "test", path: "/metadata/name", value: "w2" }]),
      (e: unknown) => e instanceof ApiError && e.code === 422);
  });
});

describe("cluster object readings", () => {
  it("reads Ready, bootID and cordon from a Node", () => {
    assert.deepEqual(
      nodeState({ metadata: { name: "w1" }, spec: { unschedulable: true },
        status: { conditions: [{ type: "MemoryPressure", status: "True" }, { type: "Ready", status: "Unknown" }], nodeInfo: { bootID: "b1" } } }),
      { name: "w1", ready: false, bootId: "b1", unschedulable: true, annotations: {} },
    );
    assert.equal(nodeState({ status: { conditions: [{ type: "Ready", status: "True" }] } }).ready, true);
  });

  it("tells mirror, DaemonSet, other controlled and uncontrolled pods apart", () => {
    assert.equal(podOwner({ metadata: { annotations: { "kubernetes.io/config.mirror": "x" }, ownerReferences: [{ kind: "Node" }] } }), "mirror");
    assert.equal(podOwner({ metadata: { ownerReferences: [{ kind: "DaemonSet", controller: true }] } }), "daemonset");
    assert.equal(podOwner({ metadata: { ownerReferences: [{ kind: "ReplicaSet", controller: true }] } }), "controller");
    assert.equal(podOwner({ metadata: { ownerReferences: [{ kind: "ReplicaSet" }] } }), "none");
    assert.equal(podOwner({}), "none");
  });
});
