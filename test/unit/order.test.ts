import * as assert from "node:assert/strict";
import fc from "fast-check";
import { rolloutOrder } from "../../lib/inventory/order";
import type { HostRole } from "../../lib/rollout/spec";

describe("rollout order", () => {
  it("puts the control plane first, then the workers, each in inventory order", () => {
    const hosts: { name: string; role: HostRole }[] = [
      { name: "w1", role: "worker" },
      { name: "cp2", role: "control-plane" },
      { name: "w2", role: "worker" },
      { name: "cp1", role: "control-plane" },
      { name: "w0", role: "worker" },
    ];
    assert.deepEqual(rolloutOrder(hosts).map((h) => h.name), ["cp2", "cp1", "w1", "w2", "w0"]);
  });

  it("leaves its input alone and copes with empty and single-role fleets", () => {
    const hosts: { name: string; role: HostRole }[] = [{ name: "b", role: "worker" }, { name: "a", role: "control-plane" }];
    rolloutOrder(hosts);
    assert.deepEqual(hosts.map((h) => h.name), ["b", "a"]);
    assert.deepEqual(rolloutOrder([]), []);
    assert.deepEqual(rolloutOrder([{ role: "worker" as HostRole, n: 1 }, { role: "worker" as HostRole, n: 2 }]).map((h) => h.n), [1, 2]);
  });

  it("is a stable partition: a permutation, roles in order, inventory order kept within a role", () => {
    const role = fc.constantFrom<HostRole>("control-plane", "worker");
    fc.assert(
      fc.property(fc.array(role, { maxLength: 40 }), (roles) => {
        const hosts = roles.map((r, index) => ({ role: r, index }));
        const out = rolloutOrder(hosts);
        assert.deepEqual([...out].sort((a, b) => a.index - b.index), hosts);
        const firstWorker = out.findIndex((h) => h.role === "worker");
        if (firstWorker >= 0) assert.ok(out.slice(firstWorker).every((h) => h.role === "worker"));
        for (const r of ["control-plane", "worker"] as const) {
          const idx = out.filter((h) => h.role === r).map((h) => h.index);
          assert.deepEqual(idx, [...idx].sort((a, b) => a - b));
        }
      }),
    );
  });
});
