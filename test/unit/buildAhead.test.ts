/**
 * Building ahead (lib/rollout/buildAhead.ts) and activating what was built (hostRollout.ts with
 * a staged build), through the fake NixOS operations; the pure staging names and hashes (the
 * FleetBuild's decisions are in fleetBuild.test.ts).
 */
import * as assert from "node:assert/strict";
import { lostBuild, stageAndBuild } from "../../lib/rollout/buildAhead";
import { configurationHash, contentHash, fileHashes, isStagingDir, stagedMismatches, STAGING_ROOT, stagingDirFor } from "../../lib/nixos/staging";
import type { BuildSpec, HostSpec, StagedBuild } from "../../lib/rollout/spec";
import { FakeNixos } from "../fakes/nixos";
import { testSpec } from "../fakes/specs";
import { LIVE, OLD, OLD_CONF, on, rejects, systems, world } from "../fakes/world";

function buildSpec(files: Record<string, string>): BuildSpec {
  const s = testSpec("srv2");
  return { name: s.name, address: s.address, port: s.port, user: s.user, hostKey: s.hostKey, trustOnFirstUse: s.trustOnFirstUse, sshPrivateKey: s.sshPrivateKey, files, stagingDir: stagingDirFor(files), timeouts: s.timeouts };
}

const FILES = { "configuration.nix": "{ ... }: { imports = [ ./fleet/host.nix ]; }\n", "fleet/host.nix": "{ hostName = \"srv2\"; }\n" };

describe("staging names and hashes", () => {
  it("stages the same files in the same folder, and any change of a name or contents in another", () => {
    assert.equal(stagingDirFor(FILES), stagingDirFor({ ...FILES }));
    assert.equal(stagingDirFor(FILES), `${STAGING_ROOT}/${configurationHash(FILES)}`);
    assert.ok(isStagingDir(stagingDirFor(FILES)));
    const others: Record<string, string>[] = [
      { ...FILES, "fleet/host.nix": "{ hostName = \"srv3\"; }\n" },
      { "configuration.nix": FILES["configuration.nix"], "fleet/other.nix": FILES["fleet/host.nix"] },
      { "configuration.nix": FILES["configuration.nix"] },
    ];
    for (const o of others) assert.notEqual(stagingDirFor(o), stagingDirFor(FILES));
    assert.ok(!isStagingDir("/etc/nixos"));
    assert.ok(!isStagingDir(`${STAGING_ROOT}/../../etc`));
  });

  it("names the staged files that are missing or changed", () => {
    const staged: StagedBuild = { dir: stagingDirFor(FILES), system: "/nix/store/x", fileHashes: fileHashes(FILES) };
    assert.deepEqual(stagedMismatches(staged, FILES), []);
    assert.deepEqual(stagedMismatches(staged, { ...FILES, "fleet/host.nix": "edited" }), ["fleet/host.nix"]);
    assert.deepEqual(stagedMismatches(staged, { "configuration.nix": FILES["configuration.nix"], "fleet/host.nix": null }), ["fleet/host.nix"]);
    assert.equal(fileHashes(FILES)["configuration.nix"], contentHash(FILES["configuration.nix"]));
  });
});

describe("building ahead through fake NixOS operations", () => {
  it("stages the files and builds from the staging folder, leaving /etc/nixos and the systems alone", async () => {
    const host = new FakeNixos("srv2", OLD);
    host.etcNixos["configuration.nix"] = OLD_CONF;
    host.etcNixos["hardware-configuration.nix"] = "{ }\n";
    host.nextBuild = LIVE;
    const spec = buildSpec(FILES);
    const lines: string[] = [];
    host.staging.set(`${STAGING_ROOT}/earlier`, {});
    const staged = await stageAndBuild(spec, host, (l) => lines.push(l));
    assert.deepEqual(staged, { dir: spec.stagingDir, system: LIVE.system, fileHashes: fileHashes(FILES) });
    assert.deepEqual(host.log, [`stage ${spec.stagingDir}`, `build ${spec.stagingDir}`, `unstage all but ${spec.stagingDir}`]);
    assert.deepEqual([...host.staging.keys()], [spec.stagingDir], "the earlier staging folder went once this build succeeded");
    assert.deepEqual(host.staging.get(spec.stagingDir), { "hardware-configuration.nix": "{ }\n", ...FILES }, "the host's own files are staged beside the rendered ones");
    assert.equal(host.etcNixos["configuration.nix"], OLD_CONF);
    assert.deepEqual(systems(host), on(OLD));
    assert.equal(await lostBuild(staged, host), undefined);
  });

  it("a failed build names the host and the command, says nothing changed, and keeps the output", async () => {
    const host = new FakeNixos("srv2", OLD);
    host.faults.build = "error: syntax error, unexpected ';'";
    host.staging.set(`${STAGING_ROOT}/last-good`, {});
    await assert.rejects(stageAndBuild(buildSpec(FILES), host, () => undefined), (e: Error) => {
      assert.match(e.message, /^srv2: build failed: /);
      assert.match(e.message, /nothing srv2 runs or boots was changed: \/etc\/nixos, the system profile, the boot loader and the running system are as they were/);
      assert.match(e.message, /no host of the fleet is activated while a build fails/);
      assert.match(e.message, /syntax error, unexpected ';'/);
      assert.match(e.message, /what to do: fix the Nix error/);
      return true;
    });
    assert.deepEqual(systems(host), on(OLD));
    assert.ok(host.staging.has(`${STAGING_ROOT}/last-good`), "a failed build leaves the last good staging folder");
  });

  it("says why a recorded build is lost: its system left the store, or its staged files changed", async () => {
    const host = new FakeNixos("srv2", OLD);
    host.nextBuild = LIVE;
    const staged = await stageAndBuild(buildSpec(FILES), host, () => undefined);
    host.staging.set(staged.dir, { ...FILES, "fleet/host.nix": "hand edit" });
    assert.match((await lostBuild(staged, host)) ?? "", /configuration staged in \S+ is gone or changed \(fleet\/host\.nix\)/);
    host.store.delete(LIVE.system);
    assert.match((await lostBuild(staged, host)) ?? "", new RegExp(`the system ${LIVE.system} is no longer in the host's Nix store`));
  });
});

describe("activating a system built ahead", () => {
  /** A world whose host has LIVE built and FILES staged, and a spec that names them. */
  async function builtWorld(edit: Partial<HostSpec> = {}) {
    const host0 = world(LIVE).host;
    const staged = await stageAndBuild(buildSpec(FILES), host0, () => undefined);
    const w = world(LIVE, { files: {}, staged, ...edit });
    // The built world's host is a new fake: give it what the build left.
    w.host.store.set(LIVE.system, LIVE);
    w.host.staging.set(staged.dir, { ...FILES });
    return { w, staged };
  }

  it("lands the staged files under /etc/nixos and activates the built system without building", async () => {
    const { w } = await builtWorld();
    await w.run();
    assert.deepEqual(w.host.log, [`set-profile ${LIVE.system}`, "arm live guard", `activate ${LIVE.system} switch`, "disarm guard"]);
    assert.equal(w.host.etcNixos["configuration.nix"], FILES["configuration.nix"]);
    assert.equal(w.host.etcNixos["fleet/host.nix"], FILES["fleet/host.nix"]);
    assert.deepEqual(systems(w.host), { ...on(LIVE), booted: OLD.system });
  });

  it("refuses, changing nothing, when the built system is gone from the store", async () => {
    const { w } = await builtWorld();
    w.host.store.delete(LIVE.system);
    await rejects(w, new RegExp(`^srv2: build failed: the system ${LIVE.system} built for srv2 is no longer in its Nix store`), /pulumi up --refresh/, /Nothing was changed on the host/);
    assert.deepEqual(w.host.log, []);
    assert.equal(w.host.etcNixos["configuration.nix"], OLD_CONF);
    assert.deepEqual(systems(w.host), on(OLD));
  });

  it("refuses, changing nothing, when the staged files are not those the system was built from", async () => {
    const { w, staged } = await builtWorld();
    w.host.staging.set(staged.dir, { ...FILES, "configuration.nix": "# edited in the staging folder\n" });
    await rejects(w, /^srv2: stage failed: the configuration staged in \S+ is not the one \S+ was built from: configuration\.nix missing or changed/);
    assert.deepEqual(w.host.log, []);
    assert.equal(w.host.etcNixos["configuration.nix"], OLD_CONF);
  });
});
