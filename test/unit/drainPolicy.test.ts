import * as assert from "node:assert/strict";
import { planHosts } from "../../lib/inventory/plan";
import { HOST_KEYS, inlineInventory, loginKey, memoryIo } from "./helpers/fixtures";
import { InventoryError, formatPath } from "../../lib/inventory/errors";

const hosts = [
  { name: "w1", address: "10.0.0.11", hostKey: HOST_KEYS[0] },
  { name: "w2", address: "10.0.0.12", hostKey: HOST_KEYS[1], drain: { force: true } },
  { name: "w3", address: "10.0.0.13", hostKey: HOST_KEYS[2], drain: { deleteEmptyDirData: false } },
];
const plan = (inv: Record<string, unknown>) =>
  new Map(planHosts(inlineInventory({ kubernetes: { enabled: false }, ...inv }), { sshPrivateKey: loginKey(), values: {} }, memoryIo("/project", {})).map((s) => [s.name, s.drain]));

describe("inventory: drain policy", () => {
  it("defaults to kubectl drain's: neither --force nor --delete-emptydir-data", () => {
    const d = plan({ hosts: [hosts[0]] });
    assert.deepEqual(d.get("w1"), { force: false, deleteEmptyDirData: false });
  });

  it("takes the fleet-wide policy with each host's overrides, field by field", () => {
    const d = plan({ drain: { deleteEmptyDirData: true }, hosts });
    assert.deepEqual(d.get("w1"), { force: false, deleteEmptyDirData: true });
    assert.deepEqual(d.get("w2"), { force: true, deleteEmptyDirData: true });
    assert.deepEqual(d.get("w3"), { force: false, deleteEmptyDirData: false });
  });

  it("names the path of a bad value", () => {
    try {
      inlineInventory({ drain: { force: "yes" }, hosts: [{ ...hosts[0], drain: { deleteEmptydirData: true } }] });
      assert.fail("accepted");
    } catch (error) {
      assert.ok(error instanceof InventoryError, String(error));
      const paths = error.issues.map((i) => formatPath(i.path));
      assert.ok(paths.includes("drain.force"), paths.join(", "));
      assert.ok(paths.some((p) => p.startsWith("hosts[0].drain")), paths.join(", "));
    }
  });
});
