/**
 * The inventory's nix.flake: the flake's files and the fleet module every host receives, the
 * configuration each host is built from, and the refusals that come before any host is touched.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { InventoryError, formatPath } from "../../lib/inventory/errors";
import { flakeFiles } from "../../lib/inventory/flakeFiles";
import { readTree } from "../../lib/inventory/fsTree";
import { planHosts, type PlanIo } from "../../lib/inventory/plan";
import { FLAKE_LIMITS } from "../../lib/nixos/flake";
import { stagingDirFor } from "../../lib/nixos/staging";
import { stageAndBuild } from "../../lib/rollout/buildAhead";
import { rebuildReason } from "../../providers/fleetBuildProps";
import { FakeNixos } from "../fakes/nixos";
import { testSpec } from "../fakes/specs";
import { LIVE, OLD } from "../fakes/world";
import { inlineInventory, loginKey, memoryIo, refusalsOf, smallInventory } from "./helpers/fixtures";

type Json = Record<string, unknown> & { hosts: Record<string, unknown>[] };

const FIXTURE = path.resolve(__dirname, "../../../test/fixtures/flake");
const FLAKE: Record<string, string> = {
  "flake/flake.nix": fs.readFileSync(path.join(FIXTURE, "flake.nix"), "utf8"),
  "flake/flake.lock": fs.readFileSync(path.join(FIXTURE, "flake.lock"), "utf8"),
  "flake/hosts/common.nix": fs.readFileSync(path.join(FIXTURE, "hosts/common.nix"), "utf8"),
};

function fleet(edit: (inv: Json) => void = () => {}): Json {
  const inv = smallInventory([{ name: "srv1" }, { name: "srv2" }, { name: "srv3" }]) as Json;
  inv.nix = { flake: { path: "flake" } };
  edit(inv);
  return inv;
}
const plan = (inv: Json, files: Record<string, string> = FLAKE, io: PlanIo = memoryIo("/project", files)) =>
  planHosts(inlineInventory(inv, {}, files), { sshPrivateKey: loginKey(), values: {} }, io);

/** What planning refused: each issue's path and message. Fails when the plan succeeds. */
function planRefusals(inv: Json, files: Record<string, string>, io?: PlanIo): Map<string, string[]> {
  try {
    plan(inv, files, io);
  } catch (error) {
    if (!(error instanceof InventoryError)) throw error;
    const out = new Map<string, string[]>();
    for (const i of error.issues) out.set(formatPath(i.path), [...(out.get(formatPath(i.path)) ?? []), i.message]);
    return out;
  }
  assert.fail("the plan succeeded, but it should have been refused");
}

describe("inventory: nix.flake", () => {
  it("ships the flake's files and fleet/default.nix instead of configuration.nix, building nixosConfigurations.<host>", () => {
    const specs = plan(fleet((inv) => (inv.hosts[2].nix = { flake: { configuration: "srv3-canary" } })));
    assert.deepEqual(specs.map((s) => [s.name, s.flake]), [["srv1", { configuration: "srv1" }], ["srv2", { configuration: "srv2" }], ["srv3", { configuration: "srv3-canary" }]]);
    const files = specs[0].files;
    assert.deepEqual(Object.keys(files).sort(), ["flake.lock", "flake.nix", "fleet/base.nix", "fleet/default.nix", "fleet/guard.nix", "fleet/host.nix", "fleet/k3s.nix", "hosts/common.nix"]);
    assert.equal(files["flake.lock"], FLAKE["flake/flake.lock"]);
    assert.equal(files["hosts/common.nix"], FLAKE["flake/hosts/common.nix"]);
    assert.match(files["fleet/host.nix"], /hostName = "srv1";/);
    assert.match(specs[1].files["fleet/host.nix"], /hostName = "srv2";/);
    assert.ok(specs.every((s) => s.channel === undefined));
  });

  it("renders fleet/default.nix importing every fleet module and the user's nix.imports, not the hardware configuration", () => {
    const files = { ...FLAKE, "nix/extra.nix": "{ ... }: { }\n" };
    const [srv1] = plan(fleet((inv) => ((inv.nix as Record<string, unknown>).imports = ["nix/extra.nix"])), files);
    const module = srv1.files["fleet/default.nix"];
    const imports = /imports = \[\n([^]*?)\n {2}\];/.exec(module)?.[1].split("\n").map((l) => l.trim());
    assert.deepEqual(imports, ["./base.nix", "./k3s.nix", "./guard.nix", "./user/nix/extra.nix"]);
    assert.equal(srv1.files["fleet/user/nix/extra.nix"], "{ ... }: { }\n");
    assert.doesNotMatch(module.replace(/^#.*$/gm, ""), /hardware-configuration/);
  });

  it("shows a nixpkgs bump as a change of flake.lock on every host, in another staging folder", () => {
    const before = plan(fleet());
    const bumped = plan(fleet(), { ...FLAKE, "flake/flake.lock": FLAKE["flake/flake.lock"].replace("5f2c6b19a4e3d8c7b2a1f0e9d8c7b6a5f4e3d2c1", "8a7d3e2f1c0b9a8d7e6f5a4b3c2d1e0f9a8b7c6d") });
    for (const [i, s] of bumped.entries()) {
      const changed = Object.keys(s.files).filter((f) => s.files[f] !== before[i].files[f]);
      assert.deepEqual(changed, ["flake.lock"], `${s.name}`);
      const olds = { files: before[i].files, stagingDir: stagingDirFor(before[i].files, undefined, before[i].flake), flake: before[i].flake };
      const news = { files: s.files, stagingDir: stagingDirFor(s.files, undefined, s.flake), flake: s.flake };
      assert.equal(rebuildReason(olds as never, "/nix/store/s", news as never), "files and stagingDir changed");
    }
  });

  it("builds another configuration of the same files in another staging folder", () => {
    const files = { "flake.nix": "{ }" };
    assert.notEqual(stagingDirFor(files, undefined, { configuration: "a" }), stagingDirFor(files, undefined, { configuration: "b" }));
    assert.notEqual(stagingDirFor(files, undefined, { configuration: "a" }), stagingDirFor(files));
  });

  it("refuses a flake outside the project, a channel beside it, a host's flake without one, and a name nixos-rebuild cannot build", () => {
    assert.match(refusalsOf(fleet((inv) => (inv.nix = { flake: { path: "../flake" } }))).get("nix.flake.path") ?? "", /"\.\.\/flake" must be a folder inside the project folder/);
    assert.match(refusalsOf(fleet((inv) => (inv.nix = { flake: { path: "/srv/flake" } }))).get("nix.flake.path") ?? "", /must be a folder inside the project folder/);
    const both = refusalsOf(fleet((inv) => {
      inv.nix = { flake: { path: "flake" }, channel: "nixos-24.11" };
      inv.hosts[1].nix = { channel: "nixos-24.05" };
    }));
    assert.match(both.get("nix.channel") ?? "", /cannot be used with nix\.flake: a flake pins nixpkgs in its flake\.lock \(bump it with `nix flake update`\)/);
    assert.match(both.get("hosts[1].nix.channel") ?? "", /^srv2's channel cannot be used with nix\.flake/);
    const orphan = refusalsOf(fleet((inv) => {
      inv.nix = {};
      inv.hosts[0].nix = { flake: { configuration: "srv1" } };
    }));
    assert.match(orphan.get("hosts[0].nix.flake") ?? "", /^srv1 names a flake configuration, but the inventory has no nix\.flake/);
    assert.match(refusalsOf(fleet((inv) => (inv.hosts[0].nix = { flake: { configuration: 'a"b' } }))).get("hosts[0].nix.flake.configuration") ?? "", /is not a configuration name nixos-rebuild can build/);
  });

  it("refuses a missing folder, a folder without flake.nix or flake.lock, and files the fleet or the host owns, before any host is touched", () => {
    assert.match(planRefusals(fleet(), {}).get("nix.flake.path")?.[0] ?? "", /^the flake folder flake does not exist \(looked for \/project\/flake, relative to the project folder/);
    const bare = planRefusals(fleet(), { "flake/hosts/common.nix": "{ }" }).get("nix.flake.path") ?? [];
    assert.equal(bare.length, 2);
    assert.match(bare[0], /^flake has no flake\.nix/);
    assert.match(bare[1], /^flake has no flake\.lock: run `nix flake lock` in flake and commit flake\.lock/);
    const owned = planRefusals(fleet(), { ...FLAKE, "flake/fleet/x.nix": "{ }", "flake/hardware-configuration.nix": "{ }" }).get("nix.flake.path") ?? [];
    assert.deepEqual(owned.map((m) => m.split(":")[0]), ["flake/fleet/x.nix cannot be shipped", "flake/hardware-configuration.nix cannot be shipped"]);
    assert.match(owned[1], /belongs to each host .* keep per-host hardware files in a folder of the flake/);
  });

  it("refuses links out of the folder, and ships a link inside it as the file it names", () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-flake-"));
    try {
      const dir = path.join(project, "flake");
      fs.mkdirSync(path.join(dir, "hosts"), { recursive: true });
      for (const [rel, text] of Object.entries(FLAKE)) fs.writeFileSync(path.join(project, rel), text);
      fs.symlinkSync("common.nix", path.join(dir, "hosts/alias.nix"));
      fs.mkdirSync(path.join(dir, ".git"));
      fs.writeFileSync(path.join(dir, ".git/HEAD"), "ref: refs/heads/main\n");
      const io = memoryIo(project, {}, true);
      const ok = planHosts(inlineInventory(fleet(), { projectDir: project }), { sshPrivateKey: loginKey(), values: {} }, io);
      assert.equal(ok[0].files["hosts/alias.nix"], FLAKE["flake/hosts/common.nix"]);
      assert.ok(!Object.keys(ok[0].files).some((f) => f.startsWith(".git")), ".git is not shipped");
      fs.symlinkSync("/etc/passwd", path.join(dir, "hosts/out.nix"));
      assert.deepEqual(readTree(dir).find((e) => e.path === "hosts/out.nix"), { kind: "link-out", path: "hosts/out.nix", target: "/etc/passwd" });
      assert.throws(
        () => planHosts(inlineInventory(fleet(), { projectDir: project }), { sshPrivateKey: loginKey(), values: {} }, io),
        (e: unknown) => e instanceof InventoryError && /flake\/hosts\/out\.nix is a link to \/etc\/passwd, outside the flake's folder/.test(e.message),
      );
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });

  it("refuses too many files, a file too large, and what is not UTF-8 text", () => {
    const base = [{ kind: "file" as const, path: "flake.nix", size: 10 }, { kind: "file" as const, path: "flake.lock", size: 10 }];
    const many = Array.from({ length: FLAKE_LIMITS.files }, (_, i) => ({ kind: "file" as const, path: `m/${i}.nix`, size: 1 }));
    assert.match(flakeFiles(".", [...base, ...many], () => "").problems[0], /^\. holds 502 files, more than the 500 a flake may ship/);
    const big = flakeFiles("flake", [...base, { kind: "file", path: "data.json", size: FLAKE_LIMITS.fileBytes + 1 }], () => "x");
    assert.deepEqual(big.problems, [`flake/data.json has ${FLAKE_LIMITS.fileBytes + 1} bytes, more than the ${FLAKE_LIMITS.fileBytes} one file of a flake may have; keep large data out of the flake`]);
    const binary = flakeFiles("flake", [...base, { kind: "file", path: "logo.png", size: 4 }], (p) => (p === "logo.png" ? "\uFFFDPNG" : "{ }"));
    assert.deepEqual(binary.problems, ["flake/logo.png is not UTF-8 text; a flake ships text files only"]);
    assert.deepEqual(Object.keys(binary.files), ["flake.nix", "flake.lock"]);
  });
});

describe("building a flake's configuration ahead through fake NixOS operations", () => {
  it("builds --flake path:<staging folder>#<configuration>, and says so", async () => {
    const host = new FakeNixos("srv2", OLD);
    host.nextBuild = LIVE;
    const files = { "flake.nix": "{ }\n", "flake.lock": "{}\n", "fleet/default.nix": "{ ... }: { }\n" };
    const s = testSpec("srv2");
    const flake = { configuration: "srv2" };
    const spec = { name: s.name, address: s.address, port: s.port, user: s.user, hostKey: s.hostKey, trustOnFirstUse: s.trustOnFirstUse, sshPrivateKey: s.sshPrivateKey, files, stagingDir: stagingDirFor(files, undefined, flake), flake, timeouts: s.timeouts };
    const lines: string[] = [];
    await stageAndBuild(spec, host, (l) => lines.push(l));
    assert.ok(host.log.includes(`build ${spec.stagingDir} flake#srv2`), host.log.join("\n"));
    assert.ok(lines.includes(`srv2: building it (nixos-rebuild build --flake path:${spec.stagingDir}#srv2)`), lines.join("\n"));
  });
});
