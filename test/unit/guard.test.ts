/**
 * The guard against a configuration that cuts the host off (lib/nixos/guard.ts,
 * lib/rollout/confirm.ts), driven through the fake host whose guard fires on the rollout's clock.
 */
import * as assert from "node:assert/strict";
import { parseDisarm } from "../../lib/nixos/guard";
import { confirmWindowMs } from "../../lib/rollout/confirm";
import { testSpec } from "../fakes/specs";
import { assertFilesRestored, KPARAM, LIVE, OLD, on, rejects, systems, world } from "../fakes/world";

describe("the guard against a configuration that cuts the host off", () => {
  it("a live switch that cuts the host off: the guard switches back, the rollout says so and finishes the rollback", async () => {
    const w = world(LIVE);
    w.host.faults.cutsOff.add(LIVE.system);
    const message = await rejects(
      w,
      /^srv2: confirm failed: the new configuration cut srv2 off: no new SSH connection succeeded within 25s of activating \/nix\/store\/live-change-nixos-system \(last seen: .*authentication as root failed/,
      /its guard returned it to \/nix\/store\/old-nixos-system\n/,
      /rolled back: srv2 runs \/nix\/store\/old-nixos-system again \(generation \d+\), as its boot default too; healthy/,
      /what to do: look at what the change does to sshd \(services\.openssh/,
    );
    assert.doesNotMatch(message, /rebooted into it/);
    // The guard, not the rollout, switched back: the rollout's first switch after the activation is the rollback's own.
    const log = w.host.log;
    assert.ok(log.indexOf(`guard returns to ${OLD.system}`) > log.indexOf(`activate ${LIVE.system} switch`), log.join("\n"));
    assert.ok(!log.includes("disarm guard"), "nothing confirmed the cut-off configuration");
    assert.deepEqual(systems(w.host), { ...on(OLD) });
    assertFilesRestored(w.host);
    assert.equal(w.host.guardFired, false, "the guard's marker was read, so the next run does not report it again");
  });

  it("a reboot into a system that cuts the host off: its boot guard returns it and reboots, and the rollback does not reboot again", async () => {
    const w = world(KPARAM);
    w.host.faults.cutsOff.add(KPARAM.system);
    await rejects(
      w,
      /^srv2: confirm failed: the new configuration cut srv2 off: no new SSH connection succeeded within 25s of booting \/nix\/store\/kernel-param-nixos-system/,
      /its guard returned it to \/nix\/store\/old-nixos-system and rebooted into it\n/,
      /rolled back: srv2 runs \/nix\/store\/old-nixos-system again .*; srv2 was uncordoned; healthy/,
    );
    const log = w.host.log;
    assert.deepEqual(
      log.filter((l) => /^(reboot|boot |guard )/.test(l)),
      ["reboot", `boot ${KPARAM.system}`, `guard returns to ${OLD.system} and reboots`, `boot ${OLD.system}`],
      "one reboot by the rollout, one by the guard, none by the rollback",
    );
    assert.deepEqual(systems(w.host), on(OLD));
    assertFilesRestored(w.host);
    assert.equal(w.cluster.nodes.get("srv2")?.unschedulable ?? false, false);
  });

  it("a host still cut off after its guard was due: no rollback is tried, and the message sends the user to the console", async () => {
    const w = world(LIVE, { timeouts: { ...testSpec("x").timeouts, settleSeconds: 2, connectSeconds: 1 } });
    w.host.faults.cutsOff.add(LIVE.system);
    // The previous system refuses new connections too (say the network broke under both).
    w.host.faults.cutsOff.add(OLD.system);
    const message = await rejects(w, /^srv2: confirm failed: the new configuration cut srv2 off/, /its guard was due to return it to \/nix\/store\/old-nixos-system, but the host has not answered since/, /what to do: the host needs its console/);
    assert.doesNotMatch(message, /rolled back|rollback/);
    assert.ok(!w.host.log.some((l) => l.startsWith(`set-profile ${OLD.system}`)), "the rollout tried nothing over SSH after losing the host");
  });

  it("an activation that fails disarms the guard over the open connection before rolling back itself", async () => {
    const w = world(LIVE);
    w.host.faults.activationFails.add(LIVE.system);
    await rejects(w, /^srv2: activate failed/, /rolled back/);
    const log = w.host.log;
    assert.deepEqual(log.slice(0, 5), ["build", `set-profile ${LIVE.system}`, "arm live guard", `activate ${LIVE.system} switch`, "disarm guard"]);
    assert.ok(!log.some((l) => l.startsWith("guard returns")));
    assert.deepEqual(systems(w.host), { ...on(OLD) });
  });

  it("arms no guard when the system activated is the one already running", async () => {
    const w = world(OLD);
    await w.run();
    assert.deepEqual(w.host.log, ["build", `set-profile ${OLD.system}`, `activate ${OLD.system} switch`]);
  });

  it("confirms within the guard's deadline with a margin, and reads the host's answers strictly", () => {
    assert.equal(confirmWindowMs(60), 55_000);
    assert.equal(confirmWindowMs(8), 6_000);
    assert.equal(confirmWindowMs(1), 1_000);
    assert.equal(parseDisarm("guard: fired\n"), "fired");
    assert.equal(parseDisarm("noise\nguard: disarmed\n"), "disarmed");
    assert.throws(() => parseDisarm("sh: mv: not found"), /unexpected answer from the guard: "sh: mv: not found"/);
  });
});
