import * as assert from "node:assert/strict";
import type { StateInput } from "../../sim/hosttools/system-state";
import { decideUnit, type UnitOutcome, type UnitVerb } from "../../sim/hosttools/unit-control";

const base: StateInput = {
  bootedAtMs: 1000,
  nowMs: 5000,
  settleMs: 100,
  degradedFault: false,
  units: ["sshd.service", "broken.service", "multi-user.target"],
  failingUnits: ["broken.service"],
  stoppedUnits: [],
};

describe("sim host tools: systemctl start/stop/restart of the system's units", function () {
  const table: ReadonlyArray<readonly [UnitVerb, Partial<StateInput>, string, UnitOutcome]> = [
    ["stop", {}, "sshd", { kind: "stopped" }],
    ["stop", { stoppedUnits: ["sshd.service"] }, "sshd.service", { kind: "unchanged" }],
    ["start", { stoppedUnits: ["sshd.service"] }, "sshd", { kind: "started", wasActive: false }],
    ["start", {}, "sshd", { kind: "unchanged" }],
    ["restart", {}, "sshd", { kind: "started", wasActive: true }],
    ["restart", { stoppedUnits: ["sshd.service"] }, "sshd", { kind: "started", wasActive: false }],
    ["stop", {}, "multi-user.target", { kind: "stopped" }],
    ["stop", {}, "broken", { kind: "unchanged" }],
    ["stop", {}, "nginx", { kind: "refused", exitCode: 5, message: "Failed to stop nginx.service: Unit nginx.service not loaded." }],
    ["start", {}, "nginx", { kind: "refused", exitCode: 5, message: "Failed to start nginx.service: Unit nginx.service not found." }],
    ["restart", {}, "nginx.service", { kind: "refused", exitCode: 5, message: "Failed to restart nginx.service: Unit nginx.service not found." }],
  ];
  for (const [verb, input, unit, expected] of table) {
    it(`${verb} ${unit}${input.stoppedUnits?.length ? " (stopped)" : ""} → ${expected.kind}`, function () {
      assert.deepEqual(decideUnit(verb, { ...base, ...input }, unit), expected);
    });
  }

  it("a unit that fails to start fails again when started, in systemd's words", function () {
    for (const verb of ["start", "restart"] as const) {
      const o = decideUnit(verb, base, "broken");
      assert.equal(o.kind, "refused");
      assert.ok(o.kind === "refused" && o.exitCode === 1);
      assert.match(o.kind === "refused" ? o.message : "", /^Job for broken\.service failed because the control process exited with error code\.\nSee "systemctl status broken\.service" and "journalctl -xeu broken\.service" for details\.$/);
    }
  });
});
