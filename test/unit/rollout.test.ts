/**
 * The rollout of one host (hostRollout.ts, rollback.ts) driven through a fake of the NixOS
 * operations, from imperfect starting states and with a failure at each step.
 */
import * as assert from "node:assert/strict";
import { rollOutHost } from "../../lib/rollout/hostRollout";
import { fakePod, fastClock } from "../fakes/cluster";
import { testSpec } from "../fakes/specs";
import { assertFilesRestored, KPARAM, LIVE, OLD, OLD_CONF, on, PENDING, rejects, systems, world } from "../fakes/world";

describe("rollOutHost through fake NixOS operations", () => {
  it("activates a change without boot changes live: profile, boot default and running system move together", async () => {
    const w = world(LIVE);
    const out = await w.run();
    assert.deepEqual(systems(w.host), { ...on(LIVE), booted: OLD.system });
    assert.deepEqual(w.host.log, ["build", `set-profile ${LIVE.system}`, "arm live guard", `activate ${LIVE.system} switch`, "disarm guard"]);
    assert.equal(w.host.etcNixos["configuration.nix"], w.spec.files["configuration.nix"]);
    assert.deepEqual(w.cluster.calls, []);
    assert.deepEqual(out, { systemPath: LIVE.system, generation: 2, bootedKernel: "6.6.1", bootId: "boot-1", rebooted: false, rebootedAt: "", rebootReason: "kernel, initrd, kernel modules and parameters unchanged; activated live", pendingReboot: false, changes: {
      changed: true,
      kernel: { from: "6.6.1", to: "6.6.1" },
      nixosVersion: { from: "", to: "" },
      packages: { added: [], removed: [], upgraded: [] },
      packagesError: "",
    } });
  });

  it("drains before anything is activated when a reboot is needed, and activates with boot, never switch", async () => {
    const w = world(KPARAM);
    await w.run();
    assert.deepEqual(w.host.log, ["build", `set-profile ${KPARAM.system}`, `activate ${KPARAM.system} boot`, "arm boot guard", "reboot", `boot ${KPARAM.system}`, "disarm guard"]);
    assert.deepEqual(w.cluster.calls, ["cordon srv2", "uncordon srv2"]);
    const cordonAt = w.lines.indexOf("draining srv2");
    const activateAt = w.lines.indexOf(`srv2: switch-to-configuration boot`);
    assert.ok(cordonAt >= 0 && cordonAt < activateAt, w.lines.join("\n"));
    assert.deepEqual(systems(w.host), on(KPARAM));
  });

  it("build failure: files and secret files put back, profile and running system untouched", async () => {
    const w = world(LIVE);
    w.host.faults.build = "error: builder for '/nix/store/x.drv' failed with exit code 1";
    await rejects(w, /^srv2: build failed:/, /nothing was changed on srv2: the previous files under \/etc\/nixos and the secret files were put back/, /failed with exit code 1/);
    assertFilesRestored(w.host);
    assert.deepEqual(systems(w.host), on(OLD));
    assert.deepEqual(w.host.log, ["build"]);
  });

  it("follows the build still running after a dropped connection, instead of building again", async () => {
    const w = world(LIVE);
    w.host.faults.dropDuringBuild = true;
    await w.run();
    assert.deepEqual(w.host.log.filter((l) => l.includes("build")), ["build", "attach to build"], "follows the build, does not start a second one");
    assert.ok(w.lines.some((l) => /connection dropped during nixos-rebuild; reconnecting to follow the build/.test(l)));
  });

  it("drain failure: uncordoned, files put back, profile and boot default untouched", async () => {
    const w = world(KPARAM, { timeouts: { ...testSpec("x").timeouts, drainSeconds: 2 } });
    w.cluster.pods.push(fakePod("srv2", "pinned", { uid: "u1", blockedTimes: 1e9 }));
    await rejects(w, /^srv2: drain failed: gave up after 2s/, /nothing was changed on srv2: .*its profile, boot default and running system were not touched; it runs \/nix\/store\/old-nixos-system as before/);
    assertFilesRestored(w.host);
    assert.deepEqual(systems(w.host), on(OLD));
    assert.deepEqual(w.host.log, ["build"]);
    assert.equal(w.cluster.nodes.get("srv2")?.unschedulable, false);
  });

  it("profile failure: nothing activated, files put back, node uncordoned", async () => {
    const w = world(KPARAM);
    w.host.faults.setProfile = true;
    await rejects(w, /^srv2: profile failed:/, /nothing was changed on srv2/, /the profile was left at \/nix\/store\/old-nixos-system, srv2 was uncordoned/);
    assertFilesRestored(w.host);
    assert.deepEqual(systems(w.host), on(OLD));
    assert.equal(w.cluster.nodes.get("srv2")?.unschedulable, false);
  });

  it("activation failure (behaviour 1): rolls back profile, boot default and running system, and says so", async () => {
    const w = world(LIVE);
    w.host.faults.activationFails.add(LIVE.system);
    await rejects(
      w,
      /^srv2: activate failed: `switch-to-configuration switch` of \/nix\/store\/live-change-nixos-system failed/,
      /command: .*switch-to-configuration switch \(exit 4\)/,
      /rolled back: srv2 runs \/nix\/store\/old-nixos-system again \(generation 3\), as its boot default too/,
    );
    assert.doesNotMatch((await w.host.readSystems()).current.system, /live-change/);
    assert.deepEqual(systems(w.host), on(OLD));
    assertFilesRestored(w.host);
    assert.deepEqual(w.host.log.slice(-2), [`set-profile ${OLD.system}`, `activate ${OLD.system} switch`]);
  });

  it("a rollback that fails too says what the host runs now", async () => {
    const w = world(LIVE);
    w.host.faults.activationFails.add(LIVE.system);
    w.host.faults.activationFails.add(OLD.system);
    await rejects(w, /the rollback to \/nix\/store\/old-nixos-system failed too/, /now the host runs \/nix\/store\/old-nixos-system \(generation 3\); boots it next/);
  });

  it("a gate failing after a live switch rolls back live and the boot default follows (behaviour 4)", async () => {
    const w = world(LIVE, { gates: { nodesReady: true, watchedNamespaces: [], commands: [{ name: "app", command: "check", exitCode: 0, passWhen: ["^ok"] }] }, timeouts: { ...testSpec("x").timeouts, healthSeconds: 2 } });
    w.host.commands.set("check", (h) => ({ code: 0, stdout: h.current === LIVE.system ? "broken\n" : "ok\n", stderr: "" }));
    await rejects(w, /^srv2: health failed: gate "app" did not pass/, /rolled back: srv2 runs \/nix\/store\/old-nixos-system again .*as its boot default too/);
    assert.deepEqual(systems(w.host), on(OLD));
    assert.ok(!w.host.log.includes("reboot"));
    assert.ok(!w.host.log.some((l) => l.endsWith(" test")), "the rollback does not use switch-to-configuration test");
  });

  it("kubelet never Ready after the reboot: reboots back into the booted system", async () => {
    const w = world(KPARAM, { timeouts: { ...testSpec("x").timeouts, readySeconds: 3 } });
    w.host.faults.kubeletBroken.add(KPARAM.system);
    await rejects(w, /^srv2: ready failed: gave up after 3s waiting for Node srv2 to be Ready/, /rolled back: srv2 runs \/nix\/store\/old-nixos-system again .*rebooted into it; srv2 was uncordoned; healthy/);
    assert.deepEqual(systems(w.host), on(OLD));
    assertFilesRestored(w.host);
    assert.equal(w.cluster.nodes.get("srv2")?.unschedulable, false);
    assert.equal(w.cluster.nodes.get("srv2")?.ready, true);
  });

  it("degraded after the reboot: rolls back", async () => {
    const w = world(KPARAM);
    w.host.faults.degraded.add(KPARAM.system);
    await rejects(w, /^srv2: settle failed: systemd reports degraded/, /rolled back: srv2 runs \/nix\/store\/old-nixos-system again/);
    assert.deepEqual(systems(w.host), on(OLD));
  });

  it("the host never returns: says the rollback failed and that the host could not be read", async () => {
    const w = world(KPARAM, { timeouts: { ...testSpec("x").timeouts, shutdownSeconds: 1, bootSeconds: 2 } });
    w.host.faults.neverReturns = true;
    // 3 s to come back, plus the 30 s of its guard and 3 s more: the first boot reached may be the guard's return.
    await rejects(w, /^srv2: boot failed: gave up after 36s waiting for srv2 to come back/, /the rollback to \/nix\/store\/old-nixos-system failed too/, /could not be read/, /needs attention by hand/);
  });

  it("from a pending generation (behaviour 2): rolls back to the booted system, not to the generation that never booted", async () => {
    const w = world(KPARAM, { timeouts: { ...testSpec("x").timeouts, readySeconds: 3 } });
    w.host.pendingGeneration(PENDING);
    w.host.faults.kubeletBroken.add(PENDING.system);
    w.host.faults.kubeletBroken.add(KPARAM.system);
    assert.equal(w.host.profile, PENDING.system);
    await rejects(w, /^srv2: ready failed/, /rolled back: srv2 runs \/nix\/store\/old-nixos-system again/);
    assert.deepEqual(systems(w.host), on(OLD));
    assert.ok(!w.host.log.includes(`boot ${PENDING.system}`), w.host.log.join("\n"));
  });

  it("from a pending generation, a rebuild of the running system makes it the boot default again", async () => {
    const w = world(OLD);
    w.host.pendingGeneration(PENDING);
    const out = await w.run();
    assert.deepEqual(systems(w.host), on(OLD));
    assert.equal((out as { pendingReboot: boolean }).pendingReboot, false);
  });

  it("reports a pending reboot for a whole pending generation (action boot, policy never)", async () => {
    const w = world(LIVE, { action: "boot", rebootPolicy: "never" });
    const out = (await w.run()) as { pendingReboot: boolean; systemPath: string; generation: number };
    assert.deepEqual(systems(w.host), { current: OLD.system, booted: OLD.system, profile: LIVE.system, bootDefault: LIVE.system });
    assert.equal(out.pendingReboot, true);
    assert.equal(out.systemPath, OLD.system);
    assert.equal(out.generation, 1, "generation describes the running system, like systemPath");
  });

  it("policy never with a kernel change: boot default only, the new userland is not switched into live", async () => {
    const w = world(KPARAM, { rebootPolicy: "never" });
    const out = (await w.run()) as { pendingReboot: boolean };
    assert.deepEqual(systems(w.host), { current: OLD.system, booted: OLD.system, profile: KPARAM.system, bootDefault: KPARAM.system });
    assert.equal(out.pendingReboot, true);
    assert.ok(!w.host.log.some((l) => l.endsWith(" switch")));
  });

  it("action test: activates without touching the profile or the boot default", async () => {
    const w = world(LIVE, { action: "test" });
    const out = (await w.run()) as { generation: number; pendingReboot: boolean };
    assert.deepEqual(systems(w.host), { current: LIVE.system, booted: OLD.system, profile: OLD.system, bootDefault: OLD.system });
    assert.equal(out.generation, 0);
    assert.equal(out.pendingReboot, true);
  });

  it("a host already degraded fails before anything changes, blaming the state it was in", async () => {
    const w = world(LIVE);
    w.host.faults.degraded.add(OLD.system);
    await rejects(w, /^srv2: preflight failed: srv2 was already unhealthy before the rollout: systemd reports degraded/, /nothing was changed on srv2/);
    assert.deepEqual(w.host.log, []);
    assert.deepEqual(systems(w.host), on(OLD));
    assert.equal(w.host.etcNixos["configuration.nix"], OLD_CONF);
  });

  it("a degraded host fails the preflight at once, without waiting out the cluster's gates beside it", async () => {
    const w = world(LIVE, { timeouts: { ...testSpec("x").timeouts, healthSeconds: 600 } });
    w.host.faults.degraded.add(OLD.system);
    w.cluster.addNode("srv3", false);
    const clock = w.host.clock!;
    const t0 = clock.now();
    await rejects(w, /^srv2: preflight failed: srv2 was already unhealthy before the rollout: systemd reports degraded/, /nothing was changed on srv2/);
    assert.ok(clock.now() - t0 < 5000, `the preflight took ${clock.now() - t0} ms of the rollout's clock`);
    assert.deepEqual(w.host.log, []);
  });

  it("another node already NotReady fails before anything changes, blaming no host", async () => {
    const w = world(LIVE, { timeouts: { ...testSpec("x").timeouts, healthSeconds: 2 } });
    w.cluster.addNode("srv3", false);
    const message = await rejects(w, /^srv2: preflight failed: the cluster was already unhealthy before the rollout of srv2/, /not Ready: srv3/, /nothing was changed on srv2/);
    assert.doesNotMatch(message, /rolled back/);
    assert.deepEqual(w.host.log, []);
    assert.equal(w.host.etcNixos["configuration.nix"], OLD_CONF);
  });

  it("the host's own Node NotReady before the rollout does not stop it: its rollout is what may repair it, and its gates then check it", async () => {
    const w = world(KPARAM);
    w.cluster.addNode("srv2", false, "boot-1");
    await w.run();
    assert.ok(w.lines.includes("2 nodes Ready; srv2 not Ready, on the host about to be rolled out"), w.lines.join("\n"));
    assert.deepEqual(systems(w.host), on(KPARAM));
    assert.ok(w.lines.includes("3 nodes Ready"), "the gates after the rollout see srv2 Ready");
  });

  it("a gate failing when nothing changed on the host does not roll back", async () => {
    const w = world(OLD, { timeouts: { ...testSpec("x").timeouts, healthSeconds: 2 } });
    let calls = 0;
    w.host.commands.set("check", () => ({ code: calls++ === 0 ? 0 : 1, stdout: "", stderr: "" }));
    const spec = { ...w.spec, gates: { nodesReady: false, watchedNamespaces: [], commands: [{ name: "flaky", command: "check", exitCode: 0, passWhen: [] }] } };
    await assert.rejects(rollOutHost(spec, { files: ["configuration.nix"] }, w.host, { cluster: w.cluster, progress: () => undefined, clock: fastClock(), lockOwner: "unit test rollout" }), (e: Error) => {
      assert.match(e.message, /^srv2: health failed: gate "flaky"/);
      assert.doesNotMatch(e.message, /rolled back/);
      return true;
    });
    assert.deepEqual(w.host.log, ["build", `set-profile ${OLD.system}`, `activate ${OLD.system} switch`], "no rollback ran");
  });
});
