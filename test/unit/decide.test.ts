import * as assert from "node:assert/strict";
import { bootChanges, decideReboot, rollbackTarget } from "../../lib/rollout/decide";
import { rebootPending } from "../../lib/rollout/outputs";
import type { BootFacts } from "../../lib/rollout/remote";
import type { RebootPolicy, RebuildAction } from "../../lib/rollout/spec";

const base: BootFacts = { system: "/nix/store/a-sys", kernel: "/nix/store/k1-linux-6.6.1/bzImage", initrd: "/nix/store/i1/initrd", kernelModules: "/nix/store/m1", kernelParams: "quiet" };
const newSystem: BootFacts = { ...base, system: "/nix/store/b-sys" };
const newKernel: BootFacts = { ...newSystem, kernel: "/nix/store/k2-linux-6.6.2/bzImage", initrd: "/nix/store/i2/initrd", kernelModules: "/nix/store/m2" };
const newParams: BootFacts = { ...newSystem, kernelParams: "quiet mitigations=off" };

describe("decideReboot", () => {
  const before = { booted: base, current: base };
  const cases: Array<[RebootPolicy, RebuildAction, BootFacts, boolean, RebuildAction, RegExp]> = [
    // policy, action, the system built, reboot?, goal of the activation, reason
    ["when-needed", "switch", newSystem, false, "switch", /activated live/],
    ["when-needed", "switch", newKernel, true, "boot", /kernel, initrd, kernel-modules changed/],
    ["when-needed", "switch", newParams, true, "boot", /kernel-params changed/],
    ["when-needed", "boot", newSystem, true, "boot", /takes effect at boot/],
    ["when-needed", "boot", base, false, "boot", /already running/],
    ["when-needed", "test", newKernel, false, "test", /action test/],
    ["always", "switch", newSystem, true, "boot", /policy always/],
    ["always", "switch", base, false, "switch", /already running/],
    ["never", "switch", newKernel, false, "boot", /kernel, initrd, kernel-modules change at the next reboot; .*not activated live/],
    ["never", "switch", newSystem, false, "switch", /policy never; activated live/],
    ["never", "boot", newSystem, false, "boot", /policy never/],
  ];
  for (const [policy, action, built, reboot, goal, reason] of cases) {
    it(`${policy} + ${action}: ${reboot ? "reboots" : "does not reboot"}, activates with ${goal} (${reason.source})`, () => {
      const d = decideReboot(policy, action, before, built);
      assert.equal(d.reboot, reboot);
      assert.equal(d.goal, goal);
      assert.match(d.reason, reason);
    });
  }

  it("never switches live into a system whose kernel is not running: a reboot always activates with boot", () => {
    for (const policy of ["when-needed", "always"] as const) {
      for (const built of [newKernel, newParams]) assert.equal(decideReboot(policy, "switch", before, built).goal, "boot");
    }
  });

  it("decides against the booted system, not against a live-switched current one", () => {
    // The host switched live into a system with new kernel parameters that never rebooted.
    const d = decideReboot("when-needed", "switch", { booted: base, current: newParams }, newParams);
    assert.equal(d.reboot, true);
    assert.match(d.reason, /kernel-params changed/);
  });

  it("names exactly the boot parts that changed", () => {
    assert.deepEqual(bootChanges(base, newSystem), []);
    assert.deepEqual(bootChanges(base, newParams), ["kernel-params"]);
    assert.deepEqual(bootChanges(base, { ...base, initrd: "/nix/store/i9/initrd" }), ["initrd"]);
  });
});

describe("rollbackTarget", () => {
  it("is the system running at the start when it runs the booted kernel, initrd, modules and parameters", () => {
    assert.equal(rollbackTarget({ booted: base, current: newSystem }).system, newSystem.system);
  });
  it("is the booted system when the running one carries a kernel change that never booted", () => {
    assert.equal(rollbackTarget({ booted: base, current: newParams }).system, base.system);
  });
});

describe("rebootPending", () => {
  const state = (current: BootFacts, profile: BootFacts) => ({ booted: base, current, profile });
  it("is false when the host runs and boots the booted system", () => assert.equal(rebootPending(state(base, base)), false));
  it("is false after a live switch without boot changes", () => assert.equal(rebootPending(state(newSystem, newSystem)), false));
  it("counts a whole pending generation (action boot, or policy never)", () => assert.equal(rebootPending(state(base, newSystem)), true));
  it("counts a kernel change of the boot default", () => assert.equal(rebootPending(state(newParams, newParams)), true));
});
