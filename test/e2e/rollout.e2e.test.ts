/**
 * End to end with the real Pulumi CLI, this project as the program, and three simulated hosts:
 * preview shows the Nix, up rolls the fleet one node at a time, a change touches only the hosts
 * it affects, an unhealthy host is rolled back and stops the rollout, a failed up leaves the
 * state saying what the host runs, a hand edit or a hand rollback shows on refresh, and the
 * state file holds no secret in clear text.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kubeCluster } from "../../lib/cluster/kube";
import { contentHash } from "../../lib/nixos/staging";
import type { StagedBuild } from "../../lib/rollout/spec";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { exec1 } from "../integration/helpers/fleet-client";
import { assertNeverTwoDisrupted } from "../integration/helpers/provider-harness";
import { inventoryBase } from "./helpers/inventory";
import { configureForFleet, hostOperations, PulumiStack } from "./helpers/pulumi";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const TOKEN = "e2e-join-token-5b1c0a77";
const PROJECT = path.resolve(__dirname, "../../..");

const inventory = {
  ...inventoryBase({ readySeconds: 8 }),
  hosts: [
    { name: "srv1", role: "control-plane" },
    { name: "srv2", role: "worker" },
    { name: "srv3", role: "worker" },
  ],
};

describe("pulumi CLI end to end against three simulated hosts", function () {
  this.timeout(900_000);
  let work: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let stack: PulumiStack;
  const events = (since: number, host?: string): TimelineEvent[] => fleet.timeline().filter((e) => e.t >= since && (!host || e.host === host));
  const builds = (since: number, host: string) => events(since, host).filter((e) => e.kind === "build-started").length;
  const activations = (since: number, host: string) => events(since, host).filter((e) => e.kind === "activated").length;
  const live = async (host: string, what: string) => (await exec1(fj, host, `readlink -f ${what}`)).stdout.trim();
  const outputs = async () => JSON.parse((await stack.ok(["stack", "output", "--json", "--show-secrets"])).stdout) as { fleet: Record<string, { generation: number; systemPath: string; rebooted: boolean; bootId: string }> };

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    const version = execFileSync("pulumi", ["version"], { encoding: "utf8" }).trim();
    assert.equal(version, `v${require("@pulumi/pulumi/package.json").version}`, "the Pulumi CLI must match the SDK (bash scripts/setup.sh builds it)");
    assert.ok(fs.existsSync(path.join(PROJECT, "dist/index.js")), "build first: npm run build");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-e2e-"));
    fleet = await SimFleet.start({ stateDir: path.join(work, "sim"), hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
    stack = new PulumiStack(PROJECT, work, "e2e", "e2e-passphrase");
    await stack.ok(["stack", "init", "--secrets-provider", "passphrase"]);
    // `stack init` cannot be pointed at another config file; it writes the stack's encryption
    // salt beside Pulumi.yaml. Move it to the test's own config file so the checkout stays clean.
    const created = path.join(PROJECT, "Pulumi.e2e.yaml");
    fs.renameSync(created, stack.configFile);
    await configureForFleet(stack, inventory, fj);
    await stack.ok(["config", "set", "--secret", "--path", "fleet:secrets.k3sToken", TOKEN]);
  });

  after(async function () {
    fs.rmSync(path.join(PROJECT, "Pulumi.e2e.yaml"), { force: true });
    await fleet?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("previews a new stack with the rendered Nix of every host", async () => {
    const r = await stack.ok(["preview", "--diff", "--show-full-output"]);
    const ops = hostOperations(r.stdout);
    for (const name of ["srv1", "srv2", "srv3"]) {
      assert.equal(ops.get(name), "create", `no create of ${name} in:\n${r.stdout}`);
      assert.match(r.stdout, new RegExp(`hostName = \\\\?"${name}\\\\?";`), `${name}'s host.nix is not shown`);
    }
    assert.match(r.stdout, /fleet\/k3s\.nix/);
    assert.doesNotMatch(r.stdout, new RegExp(TOKEN));
  });

  it("rolls every host out in order, never two disrupted at once, each on a new generation", async () => {
    const since = Date.now();
    const r = await stack.ok(["up", "--yes", "--skip-preview"]);
    const starts = events(since).filter((e) => e.kind === "build-started").map((e) => e.host);
    assert.deepEqual(starts.sort(), ["srv1", "srv2", "srv3"], "one build per host");
    const activated = events(since).filter((e) => e.kind === "activated").map((e) => e.host);
    assert.deepEqual([...new Set(activated)], ["srv1", "srv2", "srv3"], "activated in order");
    assertNeverTwoDisrupted(events(since));
    const out = await outputs();
    for (const name of ["srv1", "srv2", "srv3"]) {
      assert.ok(out.fleet[name].generation >= 2, `${name}: generation ${out.fleet[name].generation}`);
      assert.equal(out.fleet[name].systemPath, await live(name, "/run/current-system"));
      assert.match(r.stdout, new RegExp(`${name}: built ${out.fleet[name].systemPath}`));
    }
  });

  it("shows a changed setting only for the hosts it affects and rolls out only those, rebooting only where needed", async () => {
    await stack.ok(["config", "set", "--path", "fleet:inventory.hosts[1].nix.settings.boot.kernelParams[0]", "mitigations=off"]);
    await stack.ok(["config", "set", "--path", "fleet:inventory.hosts[2].nix.settings.environment.variables.FLEET_E2E", "1"]);
    const p = await stack.ok(["preview", "--diff"]);
    const ops = hostOperations(p.stdout);
    assert.equal(ops.get("srv2"), "update", p.stdout);
    assert.equal(ops.get("srv3"), "update", p.stdout);
    assert.ok(!["update", "create", "replace", "delete"].includes(ops.get("srv1") ?? "same"), p.stdout);
    assert.match(p.stdout, /\+\s+kernelParams = \[\s*\+\s+"mitigations=off"/s);
    assert.match(p.stdout, /\+\s+FLEET_E2E = 1;/);
    const before = await outputs();
    const since = Date.now();
    await stack.ok(["up", "--yes", "--skip-preview"]);
    assert.equal(builds(since, "srv1"), 0);
    assert.equal(builds(since, "srv2"), 1);
    assert.equal(builds(since, "srv3"), 1);
    const after = await outputs();
    assert.equal(after.fleet.srv2.rebooted, true);
    assert.notEqual(after.fleet.srv2.bootId, before.fleet.srv2.bootId);
    assert.equal(after.fleet.srv3.rebooted, false);
    assert.equal(after.fleet.srv3.bootId, before.fleet.srv3.bootId);
    assert.equal(after.fleet.srv1.systemPath, before.fleet.srv1.systemPath);
    assertNeverTwoDisrupted(events(since));
  });

  it("stops at a host whose kubelet never turns Ready, rolls it back and leaves the next host alone", async () => {
    const before = await outputs();
    await fleet.setFault("srv2", "kubelet-never-ready", true);
    const since = Date.now();
    try {
      await stack.ok(["config", "set", "--path", "fleet:inventory.nix.settings.boot.initrd.kernelModules[0]", "dm-crypt"]);
      const r = await stack.run(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0, r.output);
      assert.match(r.output, /srv2: ready failed: gave up after 8s waiting for Node srv2 to be Ready/);
      assert.match(r.output, /rolled back: srv2 runs \/nix\/store\/\S+ again/);
      assert.equal(await live("srv2", "/run/booted-system"), before.fleet.srv2.systemPath);
      assert.equal(await live("srv2", "/run/current-system"), before.fleet.srv2.systemPath);
      // The simulated API server runs in this process: ask it without blocking the event loop.
      const cluster = kubeCluster(fs.readFileSync(fj.kubeconfig, "utf8"));
      const node = await cluster.getNode("srv2");
      assert.equal(node?.unschedulable, false, "srv2 is still cordoned");
      assert.equal(node?.ready, true, "srv2 is not Ready after its rollback");
      assert.equal(builds(since, "srv1"), 1);
      // srv3 was built with the others, but neither activated nor disrupted.
      assert.deepEqual(events(since, "srv3").filter((e) => !["ssh-session", "build-started", "build-finished"].includes(e.kind)), []);
      assert.equal(await live("srv3", "/run/current-system"), before.fleet.srv3.systemPath);
    } finally {
      await fleet.setFault("srv2", "kubelet-never-ready", false);
    }
    const since2 = Date.now();
    await stack.ok(["up", "--yes", "--skip-preview"]);
    assert.equal(activations(since2, "srv3"), 1, "the rollout goes on once srv2 is healthy");
    assert.equal(builds(since2, "srv3"), 0, "with the system built before");
  });

  it("records in the state what a host runs after a failed up, and rolls the same change out again", async () => {
    const since = Date.now();
    await fleet.setFault("srv3", "pdb-blocks", true);
    try {
      await stack.ok(["config", "set", "--path", "fleet:inventory.hosts[2].nix.settings.boot.kernelParams[0]", "pdb=e2e"]);
      const r = await stack.run(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0, r.output);
      assert.match(r.output, /srv3: drain failed: gave up after 30s waiting for pods on srv3 to be evicted/);
      const exported = JSON.parse((await stack.ok(["stack", "export"])).stdout) as { deployment: { resources: Array<{ urn: string; outputs?: Record<string, unknown> }> } };
      const srv3 = exported.deployment.resources.find((x) => /NixosHost::srv3$/.test(x.urn));
      assert.ok(srv3?.outputs, "srv3 is not in the state");
      const { status, nixos } = srv3.outputs as { status: { systemPath: string }; nixos: { staged: StagedBuild } };
      assert.equal(status.systemPath, await live("srv3", "/run/current-system"), "the state does not say what srv3 runs");
      const hostNix = (await exec1(fj, "srv3", "cat /etc/nixos/fleet/host.nix")).stdout;
      // The state holds the files' hashes as rolled out, and the files the host has otherwise as found.
      assert.notEqual(nixos.staged.fileHashes["fleet/host.nix"], contentHash(hostNix));
      assert.equal((srv3.outputs.editedFiles as Record<string, string>)["fleet/host.nix"], hostNix);
    } finally {
      await fleet.setFault("srv3", "pdb-blocks", false);
    }
    const again = Date.now();
    await stack.ok(["up", "--yes", "--skip-preview"]);
    assert.equal(activations(again, "srv3"), 1, "the same change is rolled out again");
    assert.match((await exec1(fj, "srv3", "cat /run/booted-system/kernel-params")).stdout, /pdb=e2e/);
    assert.equal((await outputs()).fleet.srv3.systemPath, await live("srv3", "/run/current-system"));
    assert.equal(builds(since, "srv3"), 1, "what was built once is activated on the second run");
  });

  it("shows a host running another system than its last rollout left as a change on refresh, and rolls it out again", async () => {
    const before = await outputs();
    const back = await exec1(fj, "srv2", "nixos-rebuild switch --rollback 2>&1");
    assert.equal(back.code, 0, back.stdout);
    assert.notEqual(await live("srv2", "/run/current-system"), before.fleet.srv2.systemPath);
    const p = await stack.ok(["preview", "--refresh", "--diff"]);
    assert.equal(hostOperations(p.stdout).get("srv2"), "update", p.stdout);
    const since = Date.now();
    const r = await stack.ok(["up", "--refresh", "--yes", "--skip-preview"]);
    assert.match(r.stdout, /srv2: the host runs \S+, not \S+ as its last rollout left it; rolling it out again/);
    assert.equal(activations(since, "srv2"), 1);
    assert.equal(builds(since, "srv2"), 0, "the system built before is still there");
    assert.equal(await live("srv2", "/run/current-system"), before.fleet.srv2.systemPath);
  });

  it("shows a hand edit of /etc/nixos as drift on refresh", async () => {
    await exec1(fj, "srv1", "echo '# hand edit on srv1' >> /etc/nixos/configuration.nix");
    // The state keeps the files' hashes; the refresh records the edited file as found, shown whole.
    const p = await stack.ok(["preview", "--refresh", "--diff", "--show-full-output"]);
    assert.match(p.stdout, /\+ editedFiles\s*: \{\s*\+ configuration\.nix: "[^"]*# hand edit on srv1/);
    assert.equal(hostOperations(p.stdout).get("srv1"), "update", p.stdout);
    // refresh has no --show-full-output: it names the edited file, shortened.
    const r = await stack.ok(["refresh", "--yes", "--diff"]);
    assert.match(r.stdout, /\+ editedFiles\s*: \{\s*\+ configuration\.nix: "# managed by nixos-fleet/);
  });

  it("keeps the SSH private key and the join token out of the state in clear text", async () => {
    const state = stack.stateText();
    assert.ok(state.length > 1000, "no state written");
    const key = fs.readFileSync(fj.sshKeyPath, "utf8");
    const body = key.split("\n").filter((l) => l && !l.startsWith("-----"))[1];
    assert.ok(body && body.length > 20);
    assert.ok(!state.includes(body), "the SSH private key is in the state");
    assert.ok(!state.includes(TOKEN), "the join token is in the state");
    assert.match(state, /"ciphertext"/);
  });
});
