/**
 * The simulated fleet's inventory writer: an ordinary inventory file for a running fleet, which
 * the program loads like any other (it has no notion of a simulation).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadInventory } from "../../lib/inventory/load";
import { fleetInventory, fleetInventoryObject, SimInventoryError } from "../../sim/inventory";
import { HOST_KEYS, REPO, SIM_FLEET, devInventoryText, memoryIo } from "./helpers/fixtures";

describe("simulated fleet inventory (sim/inventory.ts)", () => {
  it("fills in each host's address, port and host key and the kubeconfig file, keeping the template's comments", () => {
    const text = devInventoryText();
    assert.match(text, /^# Written by `npm run sim -- inventory` from inventory\/dev\.yaml/);
    assert.match(text, /# The simulation boots in seconds; fail fast when something hangs\./);
    const inv = loadInventory({ inventoryFile: ".sim/inventory.yaml", projectDir: REPO }, memoryIo(REPO, { ".sim/inventory.yaml": text }));
    assert.deepEqual(
      inv.hosts.map((h) => [h.name, h.role, h.address, h.ssh.port, h.hostKey]),
      [
        ["srv1", "control-plane", "10.77.0.2", 22, HOST_KEYS[0]],
        ["srv2", "worker", "10.77.0.3", 22, HOST_KEYS[1]],
        ["srv3", "worker", "10.77.0.4", 22, HOST_KEYS[2]],
      ],
    );
    assert.equal(inv.kubernetes.kubeconfigFile, "/state/kubeconfig");
    assert.deepEqual(inv.hosts[1].labels, { "nixos-fleet.dev/pool": "general" }, "the rest of the template stays");
  });

  it("leaves the template unusable on its own: it has no addresses", () => {
    assert.throws(() => loadInventory({ inventoryFile: "inventory/dev.yaml", projectDir: REPO }, memoryIo(REPO, {}, true)), /hosts\[0\]\.address: required but missing/);
  });

  it("names the template host the fleet does not have, and what to do", () => {
    const template = fs.readFileSync(path.join(REPO, "inventory/dev.yaml"), "utf8");
    const two = { ...SIM_FLEET, hosts: SIM_FLEET.hosts.slice(0, 2) };
    assert.throws(
      () => fleetInventory(template, "inventory/dev.yaml", two, "/state"),
      (e: Error) =>
        e instanceof SimInventoryError &&
        e.message === "inventory/dev.yaml: hosts[2] (srv3) is not in the simulated fleet in /state (it has srv1, srv2); start the fleet with these host names (npm run sim -- up --host-names …) or remove the host from the template",
    );
    assert.throws(() => fleetInventoryObject({ hosts: [{ name: "srv9" }] }, SIM_FLEET, "/state"), /hosts\[0\] \(srv9\) is not in the simulated fleet/);
  });

  it("fills in an inventory given as an object the same way, keeping ssh settings", () => {
    const inv = fleetInventoryObject({ ssh: { user: "root" }, hosts: [{ name: "srv2", ssh: { user: "admin" } }] }, SIM_FLEET, "/state");
    assert.deepEqual(inv.hosts, [{ name: "srv2", address: "10.77.0.3", hostKey: HOST_KEYS[1], ssh: { user: "admin", port: 22 } }]);
    assert.deepEqual(inv.kubernetes, { kubeconfigFile: "/state/kubeconfig" });
  });
});
