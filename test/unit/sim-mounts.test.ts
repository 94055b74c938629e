/**
 * Mountpoints of the simulated hosts on the machine: /nix belongs to the machine's Nix, so the
 * fleet never creates it (a folder it made there could not be removed again once Nix wrote to it).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HOST_MOUNTS } from "../../sim/layout";
import { ensureMountpoints } from "../../sim/mounts";

describe("simulated host mountpoints (sim/mounts.ts)", function () {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-mounts-"))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("marks every target under /nix as owned by the machine's Nix", function () {
    const nix = HOST_MOUNTS.filter((m) => m.target === "/nix" || m.target.startsWith("/nix/"));
    assert.deepEqual(nix.map((m) => m.target).sort(), ["/nix/store", "/nix/var/nix"]);
    for (const m of nix) assert.match(m.ownedBy ?? "", /nix-store --init/);
  });

  it("refuses to create an owned target, names its owner, and creates nothing", function () {
    const target = path.join(root, "nix", "store");
    assert.throws(
      () => ensureMountpoints([{ source: "fs/store", target, ownedBy: "the machine's Nix (run scripts/setup.sh)" }]),
      (e: Error) => e.message.includes(`${target} does not exist`) && e.message.includes("belongs to the machine's Nix (run scripts/setup.sh)"),
    );
    assert.ok(!fs.existsSync(path.join(root, "nix")));
  });

  it("creates a missing folder that nothing owns, marks it, and returns it for removal", function () {
    const target = path.join(root, "etc", "nixos");
    assert.deepEqual(ensureMountpoints([{ source: "fs/etc-nixos", target }]), [path.join(root, "etc")]);
    assert.ok(fs.statSync(target).isDirectory());
    assert.ok(fs.existsSync(path.join(root, "etc", ".nixos-fleet-sim-mountpoint")));
  });
});
