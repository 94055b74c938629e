/**
 * Store hashes and system plans of the simulated host tools: Nix's base-32, canonical
 * JSON, and which settings move which store paths.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import fc from "fast-check";
import type { EvalResult } from "../../sim/hosttools/evaluate";
import { planSystem } from "../../sim/hosttools/plan";
import { canonicalJson, compressHash, isStoreHash, nixBase32, storeHash } from "../../sim/hosttools/storehash";

function evalResult(overrides: { packages?: string[]; params?: string[]; kernel?: string; initrd?: string[]; host?: string } = {}): EvalResult {
  const kernel = overrides.kernel ?? "6.6.45";
  return {
    hostName: overrides.host ?? "node1",
    nixos: { version: "24.05.20240812.5f2c6b1", release: "24.05", codeName: "Uakari", label: "24.05.20240812.5f2c6b1", revision: "5f2c6b1", stateVersion: "24.05", configurationRevision: null },
    kernel: { version: kernel, modDirVersion: kernel, package: `/nix/store/aaaa-linux-${kernel}`, patches: [] },
    extraModulePackages: [],
    kernelParams: overrides.params ?? ["loglevel=4"],
    systemPackages: overrides.packages ?? ["htop-3.3.0"],
    config: {
      boot: { initrd: { availableKernelModules: overrides.initrd ?? ["ahci"] } },
      environment: { systemPackages: (overrides.packages ?? ["htop-3.3.0"]).map((p) => `/nix/store/bbbb-${p}`) },
    },
  };
}

describe("sim host tools: store hashes", () => {
  it("encodes digests in Nix's base-32 exactly like nix-hash --to-base32", () => {
    const sha1 = createHash("sha1").update("hello").digest();
    const sha256 = createHash("sha256").update("hello").digest();
    assert.equal(nixBase32(sha1), "9m1skbnr5i43n3yypvda5s65vhfwdx5a");
    assert.equal(nixBase32(sha256), "094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic");
  });

  it("folds a digest by XOR", () => {
    assert.deepEqual([...compressHash(Uint8Array.from([1, 2, 3, 4, 5]), 2)], [1 ^ 3 ^ 5, 2 ^ 4]);
  });

  it("makes 32-character store hashes that ignore key order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean())), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        assert.equal(canonicalJson(obj), canonicalJson(reversed));
        const h = storeHash("kind", obj);
        assert.ok(isStoreHash(h), h);
        assert.equal(h, storeHash("kind", reversed));
      }),
    );
    assert.notEqual(storeHash("kernel", { a: 1 }), storeHash("initrd", { a: 1 }));
  });
});

describe("sim host tools: system plans", () => {
  const base = planSystem(evalResult(), "/nix/store");

  it("names the system like NixOS: nixos-system-<host>-<label>", () => {
    assert.match(base.system.path, /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-nixos-system-node1-24\.05\.20240812\.5f2c6b1$/);
    assert.match(base.system.drv, /\.drv$/);
    assert.match(base.kernel.image, /-linux-6\.6\.45\/bzImage$/);
    assert.match(base.initrd.image, /-initrd-linux-6\.6\.45\/initrd$/);
    assert.match(base.modules.path, /-linux-6\.6\.45-modules$/);
    assert.match(planSystem(evalResult({ host: "" })).name, /^nixos-system-unnamed-/);
    assert.equal(base.label, "NixOS Uakari 24.05.20240812.5f2c6b1 (Linux 6.6.45)");
  });

  it("is the same for the same evaluation", () => {
    assert.deepEqual(planSystem(evalResult(), "/nix/store"), base);
  });

  it("keeps kernel, initrd and modules when only packages or kernel parameters change", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,8}-[0-9]\.[0-9]$/)), fc.array(fc.stringMatching(/^[a-z]{1,8}=[0-9]$/)), (packages, params) => {
        const p = planSystem(evalResult({ packages, params }), "/nix/store");
        assert.equal(p.kernel.path, base.kernel.path);
        assert.equal(p.initrd.path, base.initrd.path);
        assert.equal(p.modules.path, base.modules.path);
      }),
    );
    assert.notEqual(planSystem(evalResult({ packages: ["jq-1.7.1"] })).system.path, base.system.path);
  });

  it("moves the kernel, initrd and modules with the kernel, and only the initrd with initrd settings", () => {
    const newer = planSystem(evalResult({ kernel: "6.6.46" }), "/nix/store");
    assert.notEqual(newer.kernel.path, base.kernel.path);
    assert.notEqual(newer.initrd.path, base.initrd.path);
    assert.notEqual(newer.modules.path, base.modules.path);
    const initrd = planSystem(evalResult({ initrd: ["ahci", "nvme"] }), "/nix/store");
    assert.equal(initrd.kernel.path, base.kernel.path);
    assert.equal(initrd.modules.path, base.modules.path);
    assert.notEqual(initrd.initrd.path, base.initrd.path);
  });
});
