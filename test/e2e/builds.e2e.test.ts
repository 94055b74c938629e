/**
 * End to end with the real Pulumi CLI against three simulated hosts: every host is built at once
 * (by the one FleetBuild) before any host is activated or disrupted; preview builds nothing and
 * shows each host's Nix once; builds that fail on two hosts stop the rollout before any host
 * changes, with both hosts' errors, and the host that did build is recorded as built.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { exec1 } from "../integration/helpers/fleet-client";
import { hostsNamed, inventoryBase } from "./helpers/inventory";
import { configureForFleet, PulumiStack } from "./helpers/pulumi";

// Each build takes 3 s on the host, as a real build takes its time: long enough that builds the
// engine runs at once are seen under way together on the timeline.
const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300, buildMs: 3000 };
const TOKEN = "e2e-join-token-0b7d2c31";
const PROJECT = path.resolve(__dirname, "../../..");
const HOSTS = ["srv1", "srv2", "srv3"];

const inventory = {
  ...inventoryBase(),
  hosts: hostsNamed(HOSTS),
};

/** The FleetBuild's outputs in `pulumi stack export`'s output. */
function fleetBuild(exported: { stdout: string }): { systems: Record<string, string>; hosts: Record<string, { files: Record<string, string>; build: { stagingDir: string } }> } {
  const state = JSON.parse(exported.stdout) as { deployment: { resources: Array<{ urn: string; outputs?: Record<string, unknown> }> } };
  const build = state.deployment.resources.find((x) => /FleetBuild::fleet$/.test(x.urn)) ?? assert.fail("no FleetBuild in the state");
  return build.outputs as ReturnType<typeof fleetBuild>;
}

/** What disrupts or changes a host: after these, the host no longer runs what it ran. */
const CHANGES = new Set<TimelineEvent["kind"]>(["activated", "cordon", "eviction", "reboot-started", "down"]);

describe("pulumi CLI end to end: builds in parallel, activations in order", function () {
  this.timeout(900_000);
  let work: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let stack: PulumiStack;
  const events = (since: number): TimelineEvent[] => fleet.timeline().filter((e) => e.t >= since);
  const live = async (host: string, what: string) => (await exec1(fj, host, `readlink -f ${what}`)).stdout.trim();

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    const version = execFileSync("pulumi", ["version"], { encoding: "utf8" }).trim();
    assert.equal(version, `v${require("@pulumi/pulumi/package.json").version}`, "the Pulumi CLI must match the SDK (bash scripts/setup.sh builds it)");
    assert.ok(fs.existsSync(path.join(PROJECT, "dist/index.js")), "build first: npm run build");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-e2e-builds-"));
    fleet = await SimFleet.start({ stateDir: path.join(work, "sim"), hosts: HOSTS.length, timings: TIMINGS });
    fj = fleet.fleetJson;
    stack = new PulumiStack(PROJECT, work, "e2ebuilds", "e2e-passphrase");
    await stack.ok(["stack", "init", "--secrets-provider", "passphrase"]);
    // `stack init` writes the stack's salt beside Pulumi.yaml; keep the checkout clean.
    fs.renameSync(path.join(PROJECT, "Pulumi.e2ebuilds.yaml"), stack.configFile);
    await configureForFleet(stack, inventory, fj);
    await stack.ok(["config", "set", "--secret", "--path", "fleet:secrets.k3sToken", TOKEN]);
  });

  after(async function () {
    fs.rmSync(path.join(PROJECT, "Pulumi.e2ebuilds.yaml"), { force: true });
    await fleet?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("previews without building, showing each host's Nix once", async () => {
    const since = Date.now();
    const r = await stack.ok(["preview", "--diff", "--show-full-output"]);
    for (const name of HOSTS) {
      const shown = r.stdout.match(new RegExp(`hostName = \\\\?"${name}\\\\?";`, "g")) ?? [];
      assert.equal(shown.length, 1, `${name}'s host.nix is shown ${shown.length} times in:\n${r.stdout}`);
    }
    assert.match(r.stdout, /FleetBuild: \(create\)\s+\[urn=\S+FleetBuild::fleet\]/);
    assert.deepEqual(events(since).filter((e) => e.kind !== "ssh-session"), [], "preview touched a host");
  });

  it("builds every host at once, and all before the first host is activated or disrupted", async () => {
    const since = Date.now();
    const r = await stack.ok(["up", "--yes", "--skip-preview"]);
    const timeline = events(since);
    const starts = timeline.filter((e) => e.kind === "build-started");
    const finishes = timeline.filter((e) => e.kind === "build-finished");
    assert.deepEqual(starts.map((e) => e.host).sort(), HOSTS, "one build per host");
    assert.deepEqual(finishes.map((e) => e.detail?.ok), [true, true, true]);
    // Every build started before any finished: all of them were under way together.
    const lastStart = timeline.indexOf(starts[starts.length - 1]);
    const firstFinish = timeline.indexOf(finishes[0]);
    assert.ok(lastStart < firstFinish, `a build finished before every build had started:\n${timeline.map((e) => `${e.host} ${e.kind}`).join("\n")}`);
    const lastFinish = timeline.indexOf(finishes[finishes.length - 1]);
    const firstChange = timeline.findIndex((e) => CHANGES.has(e.kind));
    assert.ok(firstChange > lastFinish, `a host changed before every build had finished:\n${timeline.map((e) => `${e.host} ${e.kind}`).join("\n")}`);
    // The activations use the builds: no host builds again when its turn comes.
    assert.equal(timeline.filter((e) => e.kind === "build-started").length, HOSTS.length);
    const out = JSON.parse((await stack.ok(["stack", "output", "--json"])).stdout) as { fleet: Record<string, { systemPath: string; generation: number }> };
    for (const name of HOSTS) {
      const built = finishes.find((e) => e.host === name)?.detail?.system;
      assert.equal(out.fleet[name].systemPath, built, `${name} runs what its build built`);
      assert.equal(await live(name, "/run/current-system"), built);
      assert.match(r.stdout, new RegExp(`${name}: built /nix/store/\\S+; \\S+/result keeps it from garbage collection`));
    }
  });

  it("stops before any host changes when two hosts' builds fail, listing both hosts' errors", async () => {
    const before = new Map<string, string>();
    for (const name of HOSTS) before.set(name, await live(name, "/run/current-system"));
    const hostNixBefore = (await exec1(fj, "srv1", "cat /etc/nixos/configuration.nix")).stdout;
    await stack.ok(["config", "set", "--path", "fleet:inventory.hosts[0].nix.settings.environment.variables.FLEET_E2E", "1"]);
    await stack.ok(["config", "set", "--path", "fleet:inventory.hosts[1].nix.imports[0]", "test/fixtures/broken-syntax.nix"]);
    await stack.ok(["config", "set", "--path", "fleet:inventory.hosts[2].nix.imports[0]", "test/fixtures/broken-syntax.nix"]);
    const since = Date.now();
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0, r.output);
    for (const name of ["srv2", "srv3"]) {
      assert.match(r.output, new RegExp(`${name}: build failed: \`nixos-rebuild build -I nixos-config=\\S+/configuration.nix\` failed`), `${name}'s error is not listed:\n${r.output}`);
      assert.match(r.output, new RegExp(`${name}: build failed:[^]*?syntax error`), `${name}'s Nix error is not shown`);
    }
    const timeline = events(since);
    assert.deepEqual(timeline.filter((e) => CHANGES.has(e.kind)), [], "a host was changed or disrupted");
    for (const name of HOSTS) assert.equal(await live(name, "/run/current-system"), before.get(name), `${name} runs another system`);
    assert.equal((await exec1(fj, "srv1", "cat /etc/nixos/configuration.nix")).stdout, hostNixBefore, "srv1's /etc/nixos was touched");
    assert.deepEqual(timeline.filter((e) => e.kind === "build-finished").map((e) => [e.host, e.detail?.ok]).sort(), [["srv1", true], ["srv2", false], ["srv3", false]]);
    assert.match(r.output, /the build failed on 2 hosts \(srv2, srv3\); no host of the fleet is activated or disrupted while a build fails; the 1 built are recorded/);
    // The state records srv1's new build, and srv2 and srv3 as they were, so the next run builds only those two again.
    const build = fleetBuild(await stack.ok(["stack", "export"]));
    const srv1Built = timeline.find((e) => e.kind === "build-finished" && e.host === "srv1")?.detail?.system;
    assert.equal(build.systems.srv1, srv1Built);
    assert.match(build.hosts.srv1.files["fleet/host.nix"], /FLEET_E2E/);
    for (const name of ["srv2", "srv3"]) assert.doesNotMatch(JSON.stringify(build.hosts[name].files), /broken-syntax/, `${name} is recorded with its failed inputs`);
  });

  it("says so when a built system is gone before its activation, and builds it again on up --refresh", async () => {
    // After the last test srv1's change is built but not activated. A reinstall wipes the built
    // system and the staging folder with its GC root.
    const build = fleetBuild(await stack.ok(["stack", "export"]));
    const built = build.systems.srv1;
    const staging = build.hosts.srv1.build.stagingDir;
    assert.match(built, /^\/nix\/store\/\S+-nixos-system-srv1/);
    assert.notEqual(await live("srv1", "/run/current-system"), built);
    const wiped = await exec1(fj, "srv1", `rm -rf ${built} ${staging}`);
    assert.equal(wiped.code, 0, wiped.stdout + wiped.stderr);
    const running = await live("srv1", "/run/current-system");
    await stack.ok(["config", "rm", "--path", "fleet:inventory.hosts[1].nix"]);
    await stack.ok(["config", "rm", "--path", "fleet:inventory.hosts[2].nix"]);
    const since = Date.now();
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`srv1: build failed: the system ${built} built for srv1 is no longer in its Nix store`));
    assert.match(r.output, /run `pulumi up --refresh`/);
    assert.deepEqual(events(since).filter((e) => CHANGES.has(e.kind)), [], "a host was changed or disrupted");
    assert.equal(await live("srv1", "/run/current-system"), running);
    const again = Date.now();
    await stack.ok(["up", "--refresh", "--yes", "--skip-preview"]);
    assert.deepEqual(events(again).filter((e) => e.kind === "build-started").map((e) => e.host), ["srv1"], "only srv1 builds again");
    assert.equal(await live("srv1", "/run/current-system"), built, "srv1 runs the same system, built again");
    assert.match((await exec1(fj, "srv1", "cat /etc/nixos/fleet/host.nix")).stdout, /FLEET_E2E/);
  });
});
