/**
 * systemctl, reboot, channel upgrades and the fault injections of the simulated host
 * tools, run inside a host's mount namespace against a recording control socket.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { useHostToolsFleet, type TestHost } from "./hosttools-harness";

describe("simulated NixOS host tools: systemctl, reboot, faults", function () {
  this.timeout(120_000);
  const tools = useHostToolsFleet("state");
  const freshHost = tools.freshHost;

  it("is-system-running says starting until the settle time has passed, then running", async () => {
    const h = await freshHost();
    h.boot(1500);
    const starting = await h.run("systemctl is-system-running");
    assert.deepEqual([starting.code, starting.stdout], [1, "starting\n"]);
    const waited = await h.run("systemctl is-system-running --wait");
    assert.deepEqual([waited.code, waited.stdout], [0, "running\n"]);
    const failed = await h.ok("systemctl --failed --no-legend");
    assert.equal(failed.stdout, "");
    const active = await h.run("systemctl is-active sshd.service k3s.service");
    assert.deepEqual([active.code, active.stdout], [3, "active\ninactive\n"]);
  });

  it("the degraded fault makes the booted system degraded", async () => {
    const h = await freshHost();
    h.setFaults(["degraded"]);
    h.boot(0);
    const r = await h.run("systemctl is-system-running");
    assert.deepEqual([r.code, r.stdout], [1, "degraded\n"]);
    const failed = await h.ok("systemctl --failed");
    assert.match(failed.stdout, /● systemd-networkd-wait-online\.service +loaded failed +failed/);
    assert.match(failed.stdout, /1 loaded units listed\./);
  });

  it("a unit whose ExecStart is `false` fails the switch and degrades the system", async () => {
    const h = await freshHost();
    h.addToConfig(`  systemd.services.broken = { wantedBy = [ "multi-user.target" ]; serviceConfig.ExecStart = "\${pkgs.coreutils}/bin/false"; };`);
    const r = await h.run("nixos-rebuild switch");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /warning: the following units failed: broken\.service/);
    assert.match(r.stderr, /warning: error\(s\) occurred while switching to the new configuration\n$/);
    assert.equal(h.link("fs/run/current-system"), h.link("fs/nix-var/profiles/system-2-link"));
    assert.deepEqual(tools.control().eventsOf("activated")[0].detail?.failedUnits, ["broken.service"]);
    const state = await h.run("systemctl is-system-running");
    assert.equal(state.stdout, "degraded\n");
    const unit = await h.run("systemctl is-active broken");
    assert.deepEqual([unit.code, unit.stdout], [3, "failed\n"]);
  });

  it("the activation-fails fault breaks its target system only: its switch exits non-zero after the boot entry moved", async () => {
    const h = await freshHost();
    h.addToConfig(`  environment.variables.TARGETED = "1";`);
    const built = await h.ok("cd /var/lib && nixos-rebuild build >/dev/null 2>&1 && readlink -f result");
    const target = built.stdout.trim();
    fs.writeFileSync(h.paths.faults, JSON.stringify({ faults: [], scopes: { "activation-fails": { system: target } } }));
    const r = await h.run("nixos-rebuild switch");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /warning: the following units failed: fleet-app\.service/);
    assert.equal(h.link("fs/run/current-system"), target, "activated before the unit failed");
    assert.equal(h.link("fs/nix-var/profiles/system-2-link"), target, "the profile moved before activation");
    assert.match(fs.readFileSync(`${h.paths.boot}/loader/loader.conf`, "utf8"), /^default nixos-generation-2\.conf$/m, "the boot entry moved before activation");
    assert.equal((await h.run("systemctl is-system-running")).stdout, "degraded\n");
    // Another system is not broken: switching back to generation 1 works and the host runs again.
    const back = await h.run("nixos-rebuild switch --rollback");
    assert.equal(back.code, 0, back.stderr);
    assert.equal((await h.run("systemctl is-system-running")).stdout, "running\n");
  });

  it("refuses unknown verbs and options, and poweroff, like systemd", async () => {
    const h = await freshHost();
    const verb = await h.run("systemctl frobnicate");
    assert.deepEqual([verb.code, verb.stderr], [1, "Unknown command verb 'frobnicate'.\n"]);
    const opt = await h.run("systemctl --frobnicate is-system-running");
    assert.deepEqual([opt.code, opt.stderr], [1, "systemctl: unrecognized option '--frobnicate'\n"]);
    const off = await h.run("poweroff");
    assert.equal(off.code, 1);
    assert.match(off.stderr, /use 'systemctl reboot'/);
    assert.equal(tools.control().calls.length, 0);
  });

  it("reboot and systemctl reboot press the power button and print nothing", async () => {
    const h = await freshHost();
    for (const command of ["reboot", "systemctl reboot"]) {
      const r = await h.ok(command);
      assert.equal(r.stdout + r.stderr, "");
    }
    assert.deepEqual(tools.control().calls, [`reboot ${h.name}`, `reboot ${h.name}`]);
  });

  it("the build-fails fault fails the build after evaluation and changes nothing", async () => {
    const h = await freshHost();
    h.setFaults(["build-fails"]);
    h.addToConfig(`  services.etcd.enable = true;`);
    const before = h.snapshot();
    const r = await h.run("nixos-rebuild boot");
    assert.equal(r.code, 100);
    assert.match(r.stderr, /error: builder for '\/nix\/store\/[0-9a-df-np-sv-z]{32}-nixos-system-state\d+-[^']+\.drv' failed with exit code 1;/);
    assert.equal(h.snapshot(), before);
    assert.deepEqual(tools.control().events.map((e) => [e.kind, e.detail?.ok]), [["build-started", undefined], ["build-finished", false]]);
  });

  it("the drop-ssh-during-rebuild fault drops the session mid-build and activates nothing", async () => {
    const h = await freshHost();
    h.setFaults(["drop-ssh-during-rebuild"]);
    h.addToConfig(`  services.haproxy.enable = true;`);
    const before = h.snapshot();
    const r = await h.run("nixos-rebuild switch");
    assert.equal(r.signal, "SIGKILL");
    assert.match(r.stderr, /building '\/nix\/store\/\S+\.drv'\.\.\.\n$/);
    assert.ok(tools.control().calls.includes(`drop-sessions ${h.name}`));
    assert.equal(h.snapshot(), before);
    assert.equal(tools.control().eventsOf("activated").length, 0);
  });

  it("--upgrade moves the channel from the first revision to the latest one and reports the new kernel", async () => {
    const h = await freshHost();
    const r = await h.ok("nixos-rebuild boot --upgrade");
    assert.match(r.stderr, /^unpacking channels\.\.\.\n/);
    const neu = h.link("fs/nix-var/profiles/system-2-link") ?? "";
    assert.match(fs.readlinkSync(h.storeFile(neu, "kernel")), /-linux-6\.6\.47\/bzImage$/);
    assert.equal(h.link("fs/nix-var/profiles/per-user/root/channels"), "channels-2-link");
    const version = await h.ok(`${neu}/sw/bin/nixos-version`);
    assert.match(version.stdout, /^24\.05\.20240826\.c4b9e07 \(Uakari\)\n$/);
    // The channel server has nothing newer: another upgrade fetches the same revision.
    await h.ok("nixos-rebuild boot --upgrade");
    assert.equal(h.link("fs/nix-var/profiles/per-user/root/channels"), "channels-2-link");
    assert.equal(h.link("fs/nix-var/profiles/system"), "system-2-link");
  });

  it("nix-channel and nix-collect-garbage act on the host only", async () => {
    const h = await freshHost();
    h.addToConfig(`  services.smartd.enable = true;`);
    await h.ok("nixos-rebuild boot");
    await h.ok("nix-channel --add https://channels.example.invalid/nixos-24.05 nixos");
    assert.equal((await h.ok("nix-channel --list")).stdout, "nixos https://channels.example.invalid/nixos-24.05\n");
    assert.equal(fs.readFileSync(`${h.paths.varLib}/nixos-sim/nix-channels`, "utf8"), "https://channels.example.invalid/nixos-24.05 nixos\n");
    assert.match((await h.ok("nix-channel --update")).stderr, /^unpacking channels\.\.\.\n$/);
    assert.equal(h.link("fs/nix-var/profiles/per-user/root/channels"), "channels-2-link");
    const gc = await h.ok("nix-collect-garbage -d");
    assert.match(gc.stderr, /removing profile version 1\n/);
    assert.deepEqual(fs.readdirSync(h.paths.profiles).filter((n) => /^system-\d+-link$/.test(n)), ["system-2-link"]);
  });
});
