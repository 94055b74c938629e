/**
 * The simulated fleet's command line (dist/sim/cli.js): up starts a detached daemon, fault,
 * status and timeline talk to it, down stops it and checks nothing is left. Needs root.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { ALL_MOUNTS } from "../../sim/mounts";
import { run, type RunResult } from "../../sim/proc";
import { cleanUp, readResources, type ResourcesJson } from "../../sim/resources";
import type { FleetJson } from "../../sim/types";
import { exec1, leftoversOf } from "./helpers/fleet-client";

const CLI = path.resolve(__dirname, "../../sim/cli.js");

function cli(args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], { timeoutMs });
}

describe("simulated fleet command line (sim/cli.ts)", function () {
  this.timeout(180_000);
  let stateDir: string;
  let res: ResourcesJson | undefined;
  let mountpointsBefore: Set<string>;

  before(function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    assert.ok(fs.existsSync(CLI), `${CLI} is built`);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-cli-"));
    mountpointsBefore = new Set(ALL_MOUNTS.map((m) => m.target).filter((t) => fs.existsSync(t)));
  });

  after(async function () {
    // Whatever happened above: stop the daemon and remove what it created.
    await cli(["down", "--state-dir", stateDir], 60_000).catch(() => undefined);
    const left = readResources(stateDir);
    if (left) await cleanUp(left);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("explains that it needs root, and prints the usage for unknown arguments", async function () {
    const nobody = await run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "up", "--hosts", "2"]);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /needs root/);
    assert.match(nobody.stderr, /sudo npm run sim -- up --hosts 2/);
    const bogus = await cli(["frobnicate"]);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /unknown command "frobnicate"/);
    assert.match(bogus.stderr, /usage: npm run sim/);
  });

  it("up --hosts 2 starts a detached fleet and prints how to reach it", async function () {
    const t0 = Date.now();
    const up = await cli(["up", "--hosts", "2", "--state-dir", stateDir, "--down-ms", "300", "--kubelet-ready-ms", "200"]);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    console.log(`      (up --hosts 2 returned after ${Date.now() - t0} ms)`);
    const fleet = JSON.parse(fs.readFileSync(path.join(stateDir, "fleet.json"), "utf8")) as FleetJson;
    res = readResources(stateDir);
    assert.ok(res, "resources.json is written");
    assert.notEqual(res.owner.pid, process.pid, "the fleet runs in its own process");
    for (const h of fleet.hosts) assert.ok(up.stdout.includes(h.address), up.stdout);
    assert.match(up.stdout, /ssh -i \S+id_ed25519 -o UserKnownHostsFile=\S+known_hosts root@/);
    assert.match(up.stdout, /kubeconfig/);
    assert.equal((await exec1(fleet, "srv2", "hostname")).stdout.trim(), "srv2");
    const again = await cli(["up", "--hosts", "2", "--state-dir", stateDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already up/);
  });

  it("fault, status and timeline talk to the running fleet", async function () {
    const fault = await cli(["fault", "srv2", "degraded", "on", "--state-dir", stateDir]);
    assert.equal(fault.code, 0, fault.stderr);
    assert.match(fault.stdout, /srv2: degraded on/);
    const status = await cli(["status", "--state-dir", stateDir]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /srv1\s+\S+\s+up/);
    assert.match(status.stdout, /srv2\s+\S+\s+up .*faults: degraded/);
    const json = JSON.parse((await cli(["status", "--json", "--state-dir", stateDir])).stdout) as { hosts: Array<{ name: string; faults: string[] }> };
    assert.deepEqual(json.hosts.map((h) => [h.name, h.faults]), [["srv1", []], ["srv2", ["degraded"]]]);
    const timeline = await cli(["timeline", "--host", "srv2", "--state-dir", stateDir]);
    assert.match(timeline.stdout, /srv2\s+fault\s+\{"fault":"degraded","on":true\}/);
    assert.doesNotMatch(timeline.stdout, /srv1/);
    const bad = await cli(["fault", "srv9", "degraded", "--state-dir", stateDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no simulated host named "srv9"/);
  });

  it("inventory writes an ordinary inventory for the running fleet, and names a host it lacks", async function () {
    const fleet = JSON.parse(fs.readFileSync(path.join(stateDir, "fleet.json"), "utf8")) as FleetJson;
    const template = path.join(stateDir, "template.yaml");
    fs.writeFileSync(template, "# two hosts\nhosts:\n  - name: srv1\n    role: control-plane\n  - name: srv2\n");
    const r = await cli(["inventory", template, "--state-dir", stateDir]);
    assert.equal(r.code, 0, r.stderr);
    const out = path.join(stateDir, "inventory.yaml");
    assert.equal(r.stdout.trim(), out);
    const inv = parseYaml(fs.readFileSync(out, "utf8")) as { hosts: Array<{ name: string; address: string; hostKey: string; ssh: { port: number } }>; kubernetes: { kubeconfigFile: string } };
    assert.deepEqual(
      inv.hosts.map((h) => [h.name, h.address, h.hostKey, h.ssh.port]),
      fleet.hosts.map((h) => [h.name, h.address, h.hostKey, h.port]),
    );
    assert.equal(inv.kubernetes.kubeconfigFile, path.resolve(stateDir, fleet.kubeconfig));
    fs.writeFileSync(template, "hosts:\n  - name: srv7\n");
    const missing = await cli(["inventory", template, "--state-dir", stateDir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /hosts\[0\] \(srv7\) is not in the simulated fleet .* \(it has srv1, srv2\)/);
  });

  it("down stops the daemon and leaves nothing behind", async function () {
    assert.ok(res, "up ran");
    const down = await cli(["down", "--state-dir", stateDir], 60_000);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.match(down.stdout, /is down/);
    assert.deepEqual(await leftoversOf(res, mountpointsBefore), []);
    assert.ok(!fs.existsSync(path.join(stateDir, "resources.json")));
    assert.ok(!fs.existsSync(`/proc/${res.owner.pid}`) || !fs.readFileSync(`/proc/${res.owner.pid}/cmdline`, "utf8").includes(stateDir), "the daemon exited");
    const status = await cli(["status", "--state-dir", stateDir]);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /No simulated fleet is up/);
  });

  it("down after a crashed daemon removes what it left", async function () {
    const up = await cli(["up", "--hosts", "1", "--state-dir", stateDir, "--down-ms", "300"]);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const crashed = readResources(stateDir) as ResourcesJson;
    process.kill(crashed.owner.pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    assert.ok((await leftoversOf(crashed, mountpointsBefore)).length > 0, "the killed daemon left its host behind");
    const down = await cli(["down", "--state-dir", stateDir], 60_000);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.match(down.stdout, /removed what it had left behind/);
    assert.deepEqual(await leftoversOf(crashed, mountpointsBefore), []);
  });
});
