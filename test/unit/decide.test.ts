import * as assert from "node:assert/strict";
import { bootChanges, decideReboot } from "../../lib/rollout/decide";
import type { BootFacts } from "../../lib/rollout/remote";
import type { RebootPolicy, RebuildAction } from "../../lib/rollout/spec";

const base: BootFacts = { system: "/nix/store/a-sys", kernel: "/nix/store/k1-linux-6.6.1/bzImage", initrd: "/nix/store/i1/initrd", kernelModules: "/nix/store/m1", kernelParams: "quiet" };
const newSystem: BootFacts = { ...base, system: "/nix/store/b-sys" };
const newKernel: BootFacts = { ...newSystem, kernel: "/nix/store/k2-linux-6.6.2/bzImage", initrd: "/nix/store/i2/initrd", kernelModules: "/nix/store/m2" };
const newParams: BootFacts = { ...newSystem, kernelParams: "quiet mitigations=off" };

describe("decideReboot", () => {
  const cases: Array<[RebootPolicy, RebuildAction, BootFacts, BootFacts, boolean, RegExp]> = [
    // policy, action, current after the rebuild, next boot default, reboot?, reason
    ["when-needed", "switch", newSystem, newSystem, false, /activated live/],
    ["when-needed", "switch", newKernel, newKernel, true, /kernel, initrd, kernel-modules changed/],
    ["when-needed", "switch", newParams, newParams, true, /kernel-params changed/],
    ["when-needed", "boot", base, newSystem, true, /takes effect at boot/],
    ["when-needed", "boot", base, base, false, /already running/],
    ["when-needed", "test", newKernel, newKernel, false, /action test/],
    ["always", "switch", newSystem, newSystem, true, /policy always/],
    ["always", "switch", base, base, false, /already running/],
    ["never", "switch", newKernel, newKernel, false, /kernel, initrd, kernel-modules change at the next reboot/],
    ["never", "boot", base, newSystem, false, /policy never/],
  ];
  for (const [policy, action, current, next, reboot, reason] of cases) {
    it(`${policy} + ${action}: ${reboot ? "reboots" : "does not reboot"} (${reason.source})`, () => {
      const d = decideReboot(policy, action, base, current, next);
      assert.equal(d.reboot, reboot);
      assert.match(d.reason, reason);
    });
  }

  it("names exactly the boot parts that changed", () => {
    assert.deepEqual(bootChanges(base, newSystem), []);
    assert.deepEqual(bootChanges(base, newParams), ["kernel-params"]);
    assert.deepEqual(bootChanges(base, { ...base, initrd: "/nix/store/i9/initrd" }), ["initrd"]);
  });
});
