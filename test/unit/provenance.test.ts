import * as assert from "node:assert/strict";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { admit, buildImplementation, hostImplementation, writer } from "../../providers/loader";
import { provider } from "../../providers/nixosHost";
import { compareVersions, compatibility, isAccepted, mismatchMessage, parseProvenance, type Provenance, storedWriter } from "../../providers/provenance";

const running: Provenance = { name: "nixos-fleet", version: "0.4.2" };

describe("which project version may act on a resource's state (providers/provenance.ts)", function () {
  const table: ReadonlyArray<readonly [string, string, string]> = [
    ["nixos-fleet@0.4.2", "same", "the same version, whatever build or folder"],
    ["nixos-fleet@0.4.2+build.7", "same", "build metadata is not a version"],
    ["nixos-fleet@0.4.1", "older-state", "a patch before"],
    ["nixos-fleet@0.2.0", "older-state", "a minor before, still readable"],
    ["nixos-fleet@0.4.2-rc.1", "older-state", "the release candidate of the running version"],
    ["nixos-fleet@0.4.3", "newer-state", "a newer patch"],
    ["nixos-fleet@1.0.0", "newer-state", "a newer major"],
    ["nixos-fleet@0.1.9", "too-old-state", "older than the oldest readable"],
    ["other-fleet@0.4.2", "other-package", "another package of the same version"],
    ["nixos-fleet", "unreadable", "no version"],
    ["nixos-fleet@latest", "unreadable", "not a semantic version"],
    ["", "unreadable", "empty"],
  ];
  for (const [writtenBy, kind, why] of table) {
    it(`${JSON.stringify(writtenBy)} is ${kind}: ${why}`, () => {
      assert.equal(compatibility(writtenBy, running, "0.2.0").kind, kind);
    });
  }

  it("accepts only the same version and readable older state", () => {
    assert.deepEqual(
      table.filter(([w]) => isAccepted(compatibility(w, running, "0.2.0"))).map(([w]) => w),
      ["nixos-fleet@0.4.2", "nixos-fleet@0.4.2+build.7", "nixos-fleet@0.4.1", "nixos-fleet@0.2.0", "nixos-fleet@0.4.2-rc.1"],
    );
  });

  it("reads scoped package names", () => {
    assert.deepEqual(parseProvenance("@acme/fleet@2.0.0"), { name: "@acme/fleet", version: "2.0.0" });
  });

  const version = fc
    .tuple(fc.nat(20), fc.nat(20), fc.nat(20), fc.option(fc.constantFrom("alpha", "beta.2", "rc.1", "rc.10"), { nil: undefined }))
    .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ""}`);

  it("orders versions as semantic versioning does: antisymmetric, a pre-release before its release, numeric identifiers as numbers", () => {
    fc.assert(fc.property(version, version, (a, b) => compareVersions(a, b) === -compareVersions(b, a)));
    fc.assert(fc.property(version, (a) => compareVersions(a, a) === 0));
    assert.equal(compareVersions("1.0.0-rc.2", "1.0.0-rc.10"), -1);
    assert.equal(compareVersions("1.0.0-rc.1", "1.0.0"), -1);
    assert.equal(compareVersions("1.10.0", "1.9.0"), 1);
  });

  it("never lets a version act on state written by a newer one, and always on its own", () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const c = compatibility(`nixos-fleet@${a}`, { name: "nixos-fleet", version: b }, "0.0.0-0");
        const order = compareVersions(a, b);
        return order > 0 ? !isAccepted(c) : isAccepted(c);
      }),
    );
  });

  it("says which version wrote the state, which is running, where, and what to do", () => {
    const newer = mismatchMessage(compatibility("nixos-fleet@0.5.0", running), "nixos-fleet@0.5.0", running, "/srv/fleet");
    assert.match(newer, /written by nixos-fleet@0\.5\.0/);
    assert.match(newer, /\/srv\/fleet\) is nixos-fleet@0\.4\.2/);
    assert.match(newer, /checkout of nixos-fleet@0\.5\.0 or later/);
    const old = mismatchMessage(compatibility("nixos-fleet@0.1.0", running, "0.2.0"), "nixos-fleet@0.1.0", running, "/srv/fleet");
    assert.match(old, /reads state from nixos-fleet@0\.2\.0 on/);
    assert.match(old, /pulumi up/);
    const other = mismatchMessage(compatibility("x@0.4.2", running), "x@0.4.2", running, "/srv/fleet");
    assert.match(other, /written by x@0\.4\.2.*project that manages the stack/);
  });
});

describe("the providers' loader (providers/loader.ts)", function () {
  it("records this project's package name and version", () => {
    const pkg = require("../../../package.json") as { name: string; version: string };
    assert.equal(writer(), `${pkg.name}@${pkg.version}`);
  });

  it("admits state this project wrote and refuses state of a newer version, naming both", () => {
    assert.doesNotThrow(() => admit(writer()));
    const version = writer().split("@")[1];
    assert.throws(() => admit("nixos-fleet@99.0.0"), (e: Error) => e.message.includes("nixos-fleet@99.0.0") && e.message.includes(`nixos-fleet@${version}`));
  });

  it("reads the writer recorded in a stored provider, and none from state without one", async () => {
    const text = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
    assert.equal(storedWriter({ __provider: text }), writer());
    assert.equal(storedWriter({ __provider: 'exports.handler = __f0; const implModule = "/srv/fleet/dist/providers/impl.js";' }), undefined);
    assert.equal(storedWriter({}), undefined);
    assert.equal(storedWriter(undefined), undefined);
  });

  it("refuses to check, diff or update state whose stored provider a newer version wrote, and takes its own version's and new resources'", () => {
    const stored = (v: string) => ({ __provider: `with({ WRITTEN_BY: "nixos-fleet@${v}" }) {}` });
    for (const load of [hostImplementation, buildImplementation]) {
      assert.throws(() => load(writer(), stored("99.0.0")), (e: Error) => e.message.includes("written by nixos-fleet@99.0.0") && e.message.includes(`is ${writer()}`));
      assert.equal(typeof load(writer(), stored("0.1.0")).diff, "function");
      assert.equal(typeof load(writer(), {}).diff, "function");
    }
  });
});
