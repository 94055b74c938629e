import * as assert from "node:assert/strict";
import { InventoryError, formatPath } from "../../lib/inventory/errors";
import { planNodeMetadata } from "../../lib/inventory/nodeMetadata";
import { planHosts } from "../../lib/inventory/plan";
import { NODE_FIELD_MANAGER, nodePatchArgs } from "../../providers/nodes";
import { HOST_KEYS, inlineInventory, loginKey, memoryIo } from "./helpers/fixtures";

const KUBECONFIG = "apiVersion: v1\nkind: Config\n";

function fleet(hosts: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return {
    kubernetes: { kubeconfigFile: "kube.yaml" },
    hosts: hosts.map((h, i) => ({ address: `10.0.0.${i + 1}`, hostKey: HOST_KEYS[i % HOST_KEYS.length], ...h })),
    ...extra,
  };
}

function nodesOf(raw: Record<string, unknown>) {
  const inv = inlineInventory(raw, {}, { "kube.yaml": KUBECONFIG });
  const specs = planHosts(inv, { sshPrivateKey: loginKey(), values: {} }, memoryIo("/project", { "kube.yaml": KUBECONFIG }));
  return planNodeMetadata(inv, specs);
}

function inventoryIssues(raw: Record<string, unknown>): Map<string, string> {
  try {
    inlineInventory(raw);
  } catch (error) {
    if (!(error instanceof InventoryError)) throw error;
    return new Map(error.issues.map((i) => [formatPath(i.path), i.message]));
  }
  assert.fail("the inventory was accepted, but it should have been refused");
}

describe("node metadata: the labels and taints each host's Node gets", () => {
  it("gives each Kubernetes node its labels and taints, under the Node name the rollout drains", () => {
    const nodes = nodesOf(
      fleet([
        { name: "cp1", role: "control-plane", nodeName: "cp1.example.com", taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] },
        { name: "w1", labels: { "example.com/disk": "ssd", zone: "a" }, taints: [{ key: "storage", value: "ceph", effect: "PreferNoSchedule" }] },
      ]),
    );
    assert.deepEqual(nodes, [
      { host: "cp1", nodeName: "cp1.example.com", labels: {}, taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] },
      { host: "w1", nodeName: "w1", labels: { "example.com/disk": "ssd", zone: "a" }, taints: [{ key: "storage", value: "ceph", effect: "PreferNoSchedule" }] },
    ]);
  });

  it("gives a host with neither labels nor taints no patch, so dropping the last one deletes it", () => {
    const nodes = nodesOf(fleet([{ name: "w1", labels: { zone: "a" } }, { name: "w2" }]));
    assert.deepEqual(nodes.map((n) => n.host), ["w1"]);
  });

  it("gives no host a patch when the fleet is not a Kubernetes cluster", () => {
    const nodes = nodesOf(fleet([{ name: "w1", labels: { zone: "a" }, taints: [{ key: "gpu", effect: "NoSchedule" }] }], { kubernetes: { enabled: false } }));
    assert.deepEqual(nodes, []);
  });

  it("refuses a taint with a bad key, a bad value or an unknown effect", () => {
    const issues = inventoryIssues(
      fleet([
        {
          name: "w1",
          taints: [
            { key: "Bad Key", effect: "NoSchedule" },
            { key: "gpu", value: "-x", effect: "NoSchedule" },
            { key: "gpu", effect: "Sometimes" },
          ],
        },
      ]),
    );
    assert.match(issues.get("hosts[0].taints[0].key") ?? "", /is not a taint key/);
    assert.match(issues.get("hosts[0].taints[1].value") ?? "", /is not a taint value/);
    assert.ok(issues.has("hosts[0].taints[2].effect"), [...issues.keys()].join(", "));
  });

  it("refuses two taints of the same key and effect, which the API server would refuse", () => {
    const issues = inventoryIssues(
      fleet([{ name: "w1", taints: [{ key: "storage", effect: "NoExecute" }, { key: "storage", value: "ceph", effect: "NoExecute" }, { key: "storage", effect: "NoSchedule" }] }]),
    );
    assert.deepEqual([...issues.entries()], [["hosts[0].taints[1]", "a second taint storage:NoExecute: a Node holds one taint per key and effect"]]);
  });

  it("accepts label and taint keys under kubernetes.io, which the API takes from the kubeconfig's user though the kubelet may not set them", () => {
    const nodes = nodesOf(
      fleet([{ name: "w1", labels: { "node-role.kubernetes.io/worker": "" }, taints: [{ key: "node-role.kubernetes.io/storage", effect: "NoExecute" }] }]),
    );
    assert.deepEqual(nodes[0].labels, { "node-role.kubernetes.io/worker": "" });
    assert.equal(nodes[0].taints[0].key, "node-role.kubernetes.io/storage");
  });
});

describe("node patches: what the program applies to a Node", () => {
  it("applies the labels and taints under the program's own field manager, forcing the inventory's values", () => {
    const args = nodePatchArgs({ host: "w1", nodeName: "w1.example.com", labels: { zone: "a" }, taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }] });
    assert.deepEqual(args, {
      metadata: {
        name: "w1.example.com",
        labels: { zone: "a" },
        annotations: { "pulumi.com/patchFieldManager": NODE_FIELD_MANAGER, "pulumi.com/patchForce": "true" },
      },
      spec: { taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }] },
    });
  });

  it("leaves the taints out when the host has none, so taints others set are not claimed", () => {
    const args = nodePatchArgs({ host: "w1", nodeName: "w1", labels: { zone: "a" }, taints: [] });
    assert.equal(args.spec, undefined);
  });
});
