/**
 * What a rollout changed (lib/rollout/changes.ts): the pure report and its lines, and the
 * rollout of one host through fake NixOS operations reporting it.
 */
import * as assert from "node:assert/strict";
import type { ClosureDiffEntry } from "../../lib/nixos/closureDiff";
import type { SystemComparison, SystemState } from "../../lib/nixos/ops";
import { changeLines, changeReport, NO_CHANGES, packageChanges } from "../../lib/rollout/changes";
import type { HostOutputs } from "../../lib/rollout/outputs";
import { fakeSystem } from "../fakes/nixos";
import { LIVE, OLD, world } from "../fakes/world";

const V1 = "24.05.20240812.5f2c6b1";
const V2 = "24.05.20240819.8a7d3e2";

/** A host's systems with `s` booted and running. */
function state(s: ReturnType<typeof fakeSystem>): SystemState {
  return { bootId: "b", booted: s, current: s, profile: s, generation: 1, currentGeneration: 1 };
}

describe("the change report of a rollout", () => {
  const before = state(fakeSystem("a", "quiet", "6.6.45"));
  const bumped = state(fakeSystem("b", "quiet", "6.6.46"));
  const sameKernel = state(fakeSystem("c", "quiet", "6.6.45"));
  const read = (entries: ClosureDiffEntry[]): SystemComparison => ({
    fromVersion: V1,
    toVersion: V2,
    diff: { kind: "read", entries, unrecognised: [] },
  });

  it("sorts the diff into added, removed and upgraded packages; size-only lines and the system itself are none", () => {
    const p = packageChanges([
      { name: "htop", removed: [], added: ["3.3.0"], sizeDelta: 1 },
      { name: "nano", removed: ["8.0"], added: [], sizeDelta: -1 },
      { name: "linux", removed: ["6.6.45"], added: ["6.6.46"], sizeDelta: 0 },
      { name: "perl", removed: ["5.38.0", "5.38.2"], added: ["5.40.0"], sizeDelta: 0 },
      { name: "fleet-script", removed: [], added: [""], sizeDelta: 0 },
      { name: "system", removed: [], added: [], sizeDelta: 9216 },
      { name: "nixos-system-srv2", removed: [V1], added: [V2], sizeDelta: 0 },
    ]);
    assert.deepEqual(p, {
      added: [{ name: "htop", version: "3.3.0" }, { name: "fleet-script", version: "" }],
      removed: [{ name: "nano", version: "8.0" }],
      upgraded: [{ name: "linux", from: "6.6.45", to: "6.6.46" }, { name: "perl", from: "5.38.0, 5.38.2", to: "5.40.0" }],
    });
  });

  it("a kernel bump: kernel, NixOS version and package lines", () => {
    const r = changeReport(before, bumped, read([{ name: "linux", removed: ["6.6.45"], added: ["6.6.46"], sizeDelta: 0 }, { name: "jq", removed: [], added: ["1.7.1"], sizeDelta: 0 }]));
    assert.deepEqual(r.kernel, { from: "6.6.45", to: "6.6.46" });
    assert.deepEqual(r.nixosVersion, { from: V1, to: V2 });
    assert.deepEqual(changeLines("srv2", r), ["srv2: kernel 6.6.45 → 6.6.46", `srv2: NixOS ${V1} → ${V2}`, "srv2: packages: 1 upgraded, 1 added, 0 removed"]);
  });

  it("an unchanged kernel and NixOS version get no line; the packages do", () => {
    const r = changeReport(before, sameKernel, { ...read([{ name: "htop", removed: [], added: ["3.3.0"], sizeDelta: 0 }]), toVersion: V1 });
    assert.equal(r.changed, true);
    assert.deepEqual(changeLines("srv2", r), ["srv2: packages: 0 upgraded, 1 added, 0 removed"]);
  });

  it("the same running system before and after: no change, and no lines", () => {
    assert.deepEqual(changeReport(before, before, read([])), NO_CHANGES);
    assert.deepEqual(changeLines("srv2", NO_CHANGES), []);
  });

  it("a diff that could not be read is said, with why, and the versions are still reported", () => {
    const r = changeReport(before, bumped, { fromVersion: V1, toVersion: V2, diff: { kind: "unreadable", reason: "`nix … store diff-closures …` exited 1: error: 'store' is not a recognised command" } });
    assert.equal(r.packagesError, "`nix … store diff-closures …` exited 1: error: 'store' is not a recognised command");
    assert.deepEqual(r.packages, { added: [], removed: [], upgraded: [] });
    assert.deepEqual(changeLines("srv2", r).slice(2), ["srv2: packages could not be read: `nix … store diff-closures …` exited 1: error: 'store' is not a recognised command"]);
  });

  it("lines it did not understand are reported beside the packages it did", () => {
    const r = changeReport(before, bumped, { fromVersion: V1, toVersion: V2, diff: { kind: "read", entries: [{ name: "jq", removed: [], added: ["1.7.1"], sizeDelta: 0 }], unrecognised: ["odd line"] } });
    assert.match(r.packagesError, /1 line\(s\) of nix store diff-closures were not understood, e.g. "odd line"/);
    assert.match(changeLines("srv2", r)[2], /^srv2: packages: 0 upgraded, 1 added, 0 removed \(1 line/);
  });
});

describe("a rollout reports what it changed (fake NixOS operations)", () => {
  const BUMP = fakeSystem("kernel-bump", "quiet", "6.6.2");

  it("a kernel bump: reboots, then reports kernel, NixOS version and packages in the lines and the outputs", async () => {
    const w = world(BUMP);
    w.host.nixosVersions.set(OLD.system, V1).set(BUMP.system, V2);
    w.host.closures.set(OLD.system, { linux: "6.6.1", htop: "3.3.0", nano: "8.0" }).set(BUMP.system, { linux: "6.6.2", htop: "3.3.0", jq: "1.7.1" });
    const out = (await w.run()) as HostOutputs;
    assert.equal(out.rebooted, true);
    assert.deepEqual(out.changes, {
      changed: true,
      kernel: { from: "6.6.1", to: "6.6.2" },
      nixosVersion: { from: V1, to: V2 },
      packages: { added: [{ name: "jq", version: "1.7.1" }], removed: [{ name: "nano", version: "8.0" }], upgraded: [{ name: "linux", from: "6.6.1", to: "6.6.2" }] },
      packagesError: "",
    });
    const at = w.lines.indexOf("srv2: kernel 6.6.1 → 6.6.2");
    assert.deepEqual(w.lines.slice(at, at + 3), ["srv2: kernel 6.6.1 → 6.6.2", `srv2: NixOS ${V1} → ${V2}`, "srv2: packages: 1 upgraded, 1 added, 1 removed"]);
    assert.ok(at > w.lines.indexOf("uncordoned srv2"), `reported once the host is healthy again:\n${w.lines.join("\n")}`);
  });

  it("a live change with the same kernel reports the packages only", async () => {
    const w = world(LIVE);
    w.host.closures.set(OLD.system, { htop: "3.3.0" }).set(LIVE.system, { htop: "3.3.0", jq: "1.7.1" });
    const out = (await w.run()) as HostOutputs;
    assert.deepEqual(out.changes.packages.added, [{ name: "jq", version: "1.7.1" }]);
    assert.deepEqual(w.lines.filter((l) => /kernel \d|NixOS |packages/.test(l)), ["srv2: packages: 0 upgraded, 1 added, 0 removed"]);
  });

  it("a diff that cannot be read does not fail the rollout: the report says why", async () => {
    const w = world(BUMP);
    w.host.faults.diffUnreadable = "`nix --extra-experimental-features nix-command store diff-closures …` found no `nix` command (exit 127): sh: nix: not found";
    const out = (await w.run()) as HostOutputs;
    assert.equal(out.systemPath, BUMP.system);
    assert.match(out.changes.packagesError, /found no `nix` command/);
    assert.ok(w.lines.includes(`srv2: packages could not be read: ${w.host.faults.diffUnreadable}`), w.lines.join("\n"));
  });

  it("a rollout that changes nothing reports no change", async () => {
    const w = world(OLD);
    w.host.closures.set(OLD.system, { htop: "3.3.0" });
    const out = (await w.run()) as HostOutputs;
    assert.deepEqual(out.changes, NO_CHANGES);
    assert.deepEqual(w.lines.filter((l) => /kernel \d|NixOS |packages/.test(l)), []);
  });
});
