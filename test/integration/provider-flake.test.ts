/**
 * The NixosHost provider with a flake (inventory nix.flake) against the simulated fleet: the
 * flake's files and fleet/ land in /etc/nixos, the host builds `--flake path:/etc/nixos#<name>`
 * over SSH with the simulated host's real Nix, and a flake.lock bump to the next nixpkgs revision
 * rolls out as a new kernel behind a reboot.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stagingDirFor } from "../../lib/nixos/staging";
import type { HostSpec } from "../../lib/rollout/spec";
import * as fleetBuildImpl from "../../providers/fleetBuildImpl";
import type { HostProps } from "../../providers/props";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings } from "../../sim/types";
import { exec1 } from "./helpers/fleet-client";
import { inventoryFor, planForFleet, rollOutThrough } from "./helpers/provider-harness";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 1500, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const PROJECT = path.resolve(__dirname, "../../..");
const FIXTURE = path.join(PROJECT, "test/fixtures/flake");
const REV_FIRST = "5f2c6b19a4e3d8c7b2a1f0e9d8c7b6a5f4e3d2c1";
const REV_NEXT = "8a7d3e2f1c0b9a8d7e6f5a4b3c2d1e0f9a8b7c6d";

describe("NixosHost provider with a flake, against the simulated fleet", function () {
  this.timeout(240_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  const state = new Map<string, HostProps>();
  // A copy of the fixture inside the project (the inventory refuses a flake outside it); .sim/ is ignored by git.
  const flakeRel = `.sim/provider-flake-${process.pid}`;
  const flakeDir = path.join(PROJECT, flakeRel);
  const sh = async (command: string) => {
    const r = await exec1(fj, "srv1", command);
    assert.equal(r.code, 0, `${command}: ${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  };
  const plan = (flake = true): HostSpec => {
    const inv = inventoryFor();
    if (flake) inv.nix = { ...(inv.nix as Record<string, unknown>), flake: { path: flakeRel } };
    const spec = planForFleet(inv, fj, { k3sToken: "k3s-join-token-flake-3c1d" }).find((s) => s.name === "srv1");
    assert.ok(spec);
    return spec;
  };

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    fs.cpSync(FIXTURE, flakeDir, { recursive: true });
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-provider-flake-"));
    // Three hosts, so that srv1's pods have somewhere to go when it is drained; only srv1 is rolled out.
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
  });

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(flakeDir, { recursive: true, force: true });
  });

  it("lands the flake and fleet/ in /etc/nixos and builds nixosConfigurations.srv1 from it", async () => {
    const spec = plan();
    const { props, lines } = await rollOutThrough(state, spec);
    assert.ok(lines.includes("rebuilding srv1 (nixos-rebuild build --flake path:/etc/nixos#srv1, then switch)"), lines.join("\n"));
    assert.equal(await sh("readlink -f /run/current-system"), props.systemPath);
    assert.equal(await sh("nixos-version"), "24.05.20240812.5f2c6b1 (Uakari)");
    assert.equal(`${await sh("cat /etc/nixos/flake.lock")}\n`, spec.files["flake.lock"]);
    assert.equal(`${await sh("cat /etc/nixos/fleet/default.nix")}\n`, spec.files["fleet/default.nix"]);
    assert.match(await sh("cat /run/current-system/etc/nixos-sim/system.json"), /"git-2\.44\.1"/, "the flake's own module is in the system");
  });

  it("rolls a flake.lock bump to the next revision out as its kernel, behind a reboot", async () => {
    const lock = path.join(flakeDir, "flake.lock");
    fs.writeFileSync(lock, fs.readFileSync(lock, "utf8").replace(REV_FIRST, REV_NEXT));
    const spec = plan();
    const { props } = await rollOutThrough(state, spec);
    assert.equal(props.rebooted, true, props.rebootReason);
    assert.equal(await sh("uname -r"), "6.6.46");
    assert.equal(await sh("nixos-version"), "24.05.20240819.8a7d3e2 (Uakari)");
  });

  it("fails the build with Nix's own error when a module of the flake does not evaluate, and puts the files back", async () => {
    const common = path.join(flakeDir, "hosts/common.nix");
    const good = fs.readFileSync(common, "utf8");
    fs.writeFileSync(common, good.replace("[ pkgs.git ]", "[ pkgs.git nope ]"));
    try {
      const before = await sh("readlink -f /run/current-system");
      await assert.rejects(rollOutThrough(state, plan()), (e: Error) => /build failed[^]*error: undefined variable 'nope'[^]*hosts\/common\.nix/.test(e.message) || assert.fail(e.message));
      assert.equal(await sh("readlink -f /run/current-system"), before);
      assert.equal(`${await sh("cat /etc/nixos/hosts/common.nix")}\n`, good, "the host's files are put back");
    } finally {
      fs.writeFileSync(common, good);
    }
  });

  it("builds configuration.nix ahead, not the flake /etc/nixos still holds, once the inventory drops nix.flake", async () => {
    const spec = plan(false);
    assert.equal(await sh("test -e /etc/nixos/flake.nix && echo flake"), "flake", "the flake rollout left its flake.nix");
    const host = { address: spec.address, port: spec.port, user: spec.user, hostKey: spec.hostKey, trustOnFirstUse: spec.trustOnFirstUse, files: spec.files, stagingDir: stagingDirFor(spec.files), timeouts: spec.timeouts };
    const { outs } = await fleetBuildImpl.create({ hosts: { [spec.name]: host }, sshPrivateKeys: { [spec.name]: spec.sshPrivateKey } });
    const system = (outs as { systems: Record<string, string> }).systems[spec.name];
    const packages = await sh(`cat ${system}/etc/nixos-sim/system.json`);
    assert.doesNotMatch(packages, /"git-2\.44\.1"/, "the flake's module (git) is not in the system built from configuration.nix");
    assert.equal(await sh(`readlink ${host.stagingDir}/result`), system);
  });
});
