/**
 * Starting a simulated fleet: a start that fails halfway removes what it had created, and a
 * state folder that a running fleet uses is refused. Needs root.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fleetIdOf, SimFleet } from "../../sim/fleet";
import { ALL_MOUNTS, mountpointsOfAllNamespaces } from "../../sim/mounts";
import { listNetns } from "../../sim/netns";
import { allPids, run } from "../../sim/proc";

/** What of the fleet with this id exists on the machine: its namespaces and interfaces. */
async function fleetTraces(fleetId: string): Promise<string[]> {
  const links = JSON.parse((await run("ip", ["-j", "link"])).stdout) as Array<{ ifname: string }>;
  return [...(await listNetns()).filter((n) => n.startsWith(`nfsim-${fleetId}-`)), ...links.map((l) => l.ifname).filter((n) => n.startsWith(`nf${fleetId}`))];
}

describe("simulated fleet start (sim/fleet.ts)", function () {
  this.timeout(120_000);
  let dir: string;
  const fleets: SimFleet[] = [];

  before(function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-start-"));
  });
  after(async function () {
    for (const f of fleets) await f.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("removes everything it created when the start fails halfway", async function () {
    // A state folder this deep makes the control socket path too long for a Unix socket, which
    // fails the start after the namespaces, veths and the Kubernetes control plane exist.
    const stateDir = path.join(dir, "d".repeat(100));
    const targetsBefore = ALL_MOUNTS.map((m) => m.target).filter((t) => fs.existsSync(t));
    const logged: string[] = [];
    await assert.rejects(SimFleet.start({ stateDir, hosts: 2, log: (l) => logged.push(l) }), /control socket path .* is longer than 107 bytes/);
    assert.ok(logged.some((l) => /starting 2 hosts on/.test(l)), "the failure came after the network was created");
    assert.deepEqual(await fleetTraces(fleetIdOf(stateDir)), [], "no network namespace or interface is left");
    const created = ALL_MOUNTS.map((m) => m.target).filter((t) => fs.existsSync(t) && !targetsBefore.includes(t));
    assert.ok(created.every((t) => mountpointsOfAllNamespaces().some((m) => m.point === t)), `no created mountpoint is left unused: ${created.join(", ")}`);
    assert.ok(!fs.existsSync(path.join(stateDir, "resources.json")), "resources.json is removed once all is gone");
    const mine = allPids().filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(stateDir);
      } catch {
        return false;
      }
    });
    assert.deepEqual(mine, [], "no process of the fleet is left");
    assert.match(fs.readFileSync(path.join(stateDir, "fleet.log"), "utf8"), /start failed/);
  });

  it("refuses a state folder that a running fleet uses, and a second fleet gets its own subnet", async function () {
    const a = await SimFleet.start({ stateDir: path.join(dir, "a"), hosts: 1 });
    fleets.push(a);
    await assert.rejects(SimFleet.start({ stateDir: path.join(dir, "a"), hosts: 1 }), /already runs with the state folder/);
    assert.ok(fs.existsSync(path.join(dir, "a", "fleet.json")), "the running fleet's files are untouched");
    const b = await SimFleet.start({ stateDir: path.join(dir, "b"), hosts: 1 });
    fleets.push(b);
    const [ha, hb] = [a.fleetJson.hosts[0].address, b.fleetJson.hosts[0].address];
    assert.notEqual(ha.split(".").slice(0, 3).join("."), hb.split(".").slice(0, 3).join("."), `${ha} and ${hb} are in different subnets`);
  });
});
