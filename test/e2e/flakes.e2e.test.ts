/**
 * End to end with the real Pulumi CLI: a three-host fleet built from a flake of the project
 * (inventory nix.flake, the flake of test/fixtures/flake). A `flake.lock` bump to the next
 * nixpkgs revision previews as one change of the flake.lock every host shares, a new staging
 * folder and flake.lock's new hash on every host, and touches none; `up`
 * builds every host from the new lock and rolls them out one at a time, each rebooting into the
 * revision's kernel.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { exec1 } from "../integration/helpers/fleet-client";
import { fleetBuildHost, fleetBuildShared, resourceBlock } from "./helpers/preview";
import { hostsNamed, inventoryBase } from "./helpers/inventory";
import { configureForFleet, PulumiStack } from "./helpers/pulumi";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 1500, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const TOKEN = "e2e-join-token-77d0c3b1";
const PROJECT = path.resolve(__dirname, "../../..");
const FIXTURE = path.join(PROJECT, "test/fixtures/flake");
const HOSTS = ["srv1", "srv2", "srv3"];
const REV_FIRST = "5f2c6b19a4e3d8c7b2a1f0e9d8c7b6a5f4e3d2c1";
const REV_NEXT = "8a7d3e2f1c0b9a8d7e6f5a4b3c2d1e0f9a8b7c6d";

/** What disrupts or changes a host. */
const CHANGES = new Set<TimelineEvent["kind"]>(["activated", "cordon", "eviction", "reboot-started", "down"]);

describe("pulumi CLI end to end: a fleet built from a flake", function () {
  this.timeout(900_000);
  let work: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let stack: PulumiStack;
  // The flake is a folder of the project (the inventory refuses one outside it); .sim/ is ignored by git.
  const flakeRel = `.sim/e2e-flake-${process.pid}`;
  const flakeDir = path.join(PROJECT, flakeRel);
  const events = (since: number): TimelineEvent[] => fleet.timeline().filter((e) => e.t >= since);
  const sh = async (host: string, command: string) => {
    const r = await exec1(fj, host, command);
    assert.equal(r.code, 0, `${host}: ${command}: ${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  };

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    const version = execFileSync("pulumi", ["version"], { encoding: "utf8" }).trim();
    assert.equal(version, `v${require("@pulumi/pulumi/package.json").version}`, "the Pulumi CLI must match the SDK (bash scripts/setup.sh builds it)");
    fs.cpSync(FIXTURE, flakeDir, { recursive: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-e2e-flakes-"));
    fleet = await SimFleet.start({ stateDir: path.join(work, "sim"), hosts: HOSTS.length, timings: TIMINGS });
    fj = fleet.fleetJson;
    stack = new PulumiStack(PROJECT, work, "e2eflakes", "e2e-passphrase");
    await stack.ok(["stack", "init", "--secrets-provider", "passphrase"]);
    fs.renameSync(path.join(PROJECT, "Pulumi.e2eflakes.yaml"), stack.configFile);
    const base = inventoryBase();
    const inventory = { ...base, nix: { ...base.nix, flake: { path: flakeRel } }, hosts: hostsNamed(HOSTS) };
    await configureForFleet(stack, inventory, fj);
    await stack.ok(["config", "set", "--secret", "--path", "fleet:secrets.k3sToken", TOKEN]);
    const first = await stack.ok(["up", "--yes", "--skip-preview"]);
    for (const name of HOSTS) {
      assert.match(first.stdout, new RegExp(`${name}: building it \\(nixos-rebuild build --flake path:/var/lib/nixos-fleet/staging/[0-9a-f]+#${name}\\)`), first.stdout);
      assert.equal(await sh(name, "nixos-version"), "24.05.20240812.5f2c6b1 (Uakari)");
      assert.equal(await sh(name, "cat /etc/nixos/flake.lock"), fs.readFileSync(path.join(FIXTURE, "flake.lock"), "utf8").trim());
      assert.match(await sh(name, "cat /etc/nixos/fleet/default.nix"), /imports = \[\n {4}\.\/base\.nix/);
      assert.equal(await sh(name, "test -e /etc/nixos/configuration.nix && echo rendered || echo none"), "rendered", "the installer's configuration.nix is the host's, and stays");
    }
  });

  after(async function () {
    fs.rmSync(path.join(PROJECT, "Pulumi.e2eflakes.yaml"), { force: true });
    fs.rmSync(flakeDir, { recursive: true, force: true });
    await fleet?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("previews a flake.lock bump as one change of the shared flake.lock and a new build on every host, without touching one", async () => {
    const lock = path.join(flakeDir, "flake.lock");
    fs.writeFileSync(lock, fs.readFileSync(lock, "utf8").replace(REV_FIRST, REV_NEXT));
    const since = Date.now();
    const r = await stack.ok(["preview", "--diff"]);
    // The lock is the same file on every host: the FleetBuild holds it once, and shows its change once.
    const shared = fleetBuildShared(r.stdout);
    assert.match(shared, new RegExp(`~ flake\\.lock\\s*: \\(json\\)[^]*?~ rev\\s*: "${REV_FIRST}" => "${REV_NEXT}"`), `the build does not show the lock's new revision:\n${r.stdout}`);
    assert.doesNotMatch(shared, /~ (fleet\/|flake\.nix|hosts\/)/, "the build shows another shared file changed");
    for (const name of HOSTS) {
      const build = fleetBuildHost(r.stdout, name);
      assert.match(build, /~ stagingDir\s*:/, `${name}'s build does not show its new staging folder:\n${r.stdout}`);
      assert.doesNotMatch(build, /~ files/, `${name}'s build shows a file of its own changed`);
      const host = resourceBlock(r.stdout, "NixosHost", name);
      assert.match(host, /NixosHost: \(update\)/, `${name}'s NixosHost is not updated:\n${r.stdout}`);
      assert.match(host, /~ fileHashes: \{\s*~ flake\.lock\s*: "sha256:[0-9a-f]+" => "sha256:[0-9a-f]+"/, `${name}'s rollout does not show flake.lock's new hash:\n${r.stdout}`);
      assert.doesNotMatch(host, /~ (fleet\/|flake\.nix|hosts\/)/, `${name}'s rollout shows another file changed`);
    }
    assert.deepEqual(events(since).filter((e) => e.kind !== "ssh-session"), [], "preview touched a host");
  });

  it("rolls the bump out one host at a time, each rebooting into the new revision's kernel", async () => {
    const before = new Map<string, string>();
    for (const name of HOSTS) before.set(name, await sh(name, "uname -r"));
    const since = Date.now();
    await stack.ok(["up", "--yes", "--skip-preview"]);
    const timeline = events(since);
    for (const name of HOSTS) {
      assert.equal(before.get(name), "6.6.45");
      assert.equal(await sh(name, "uname -r"), "6.6.46", `${name} boots the new revision's kernel`);
      assert.equal(await sh(name, "nixos-version"), "24.05.20240819.8a7d3e2 (Uakari)");
      assert.match(await sh(name, "cat /etc/nixos/flake.lock"), new RegExp(REV_NEXT));
      assert.equal(timeline.filter((e) => e.host === name && e.kind === "reboot-started").length, 1, `${name} rebooted once`);
    }
    const cordons = timeline.filter((e) => e.kind === "cordon" || e.kind === "uncordon").map((e) => `${e.kind} ${e.host}`);
    assert.deepEqual(cordons, HOSTS.flatMap((h) => [`cordon ${h}`, `uncordon ${h}`]));
    const again = await stack.ok(["preview", "--diff"]);
    assert.doesNotMatch(again.stdout, /NixosHost: \(update\)/, again.stdout);
    assert.deepEqual(events(Date.now() - 1).filter((e) => CHANGES.has(e.kind)), []);
  });
});
