/**
 * What a simulated host does like a real NixOS host beyond rebuilding: its sshd follows the
 * activated configuration (a configuration can lock the client out, the previous one lets it
 * back in), systemd-run runs detached transient services and timers that outlive the SSH
 * session and die at a reboot, and the boot loader boots a one-shot entry once.
 * One host of a real simulated fleet; needs root, OpenSSH and nix-instantiate.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import type { Host } from "../../lib/host/host";
import { controlRequest } from "../../sim/client";
import type { SimFleet } from "../../sim/fleet";
import { initialConfiguration } from "../../sim/hosttools";
import { startTimeOf } from "../../sim/proc";
import { generateKey } from "../../sim/sshd";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { connect, pollUntil, sshCli, tryLogin, waitForNextBoot } from "./helpers/fleet-client";
import { execOk, useSimFleet } from "./helpers/fleet-suite";

const TIMINGS: Partial<SimTimings> = { downMs: 500, slowBootMs: 1000, systemdSettleMs: 200, kubeletReadyMs: 200, podTerminationMs: 50, rescheduleMs: 100 };
const HOST = "srv1";

describe("simulated host: sshd, systemd-run, journalctl, bootctl", function () {
  this.timeout(240_000);
  let stateDir: string;
  let fleet: SimFleet | undefined;
  let json: FleetJson;
  let clientKey: string;
  const events = (): TimelineEvent[] => (fleet ? fleet.timeline() : []);

  useSimFleet("nfsim-svc-", { hosts: [HOST], timings: TIMINGS }, (s) => {
    ({ stateDir, fleet, json, clientKey } = s);
  });

  const ok = execOk;

  /** Writes the host's configuration.nix: the installer's, with `authorizedKeys`, edited by `edit`. */
  async function writeConfig(h: Host, edit: (text: string) => string = (t) => t, authorizedKeys: readonly string[] = [clientKey]): Promise<void> {
    const text = edit(initialConfiguration(HOST, { authorizedKeys })["configuration.nix"]);
    assert.ok(!text.includes("NIXCFG"));
    await ok(h, `cat > /etc/nixos/configuration.nix <<'NIXCFG'\n${text}NIXCFG\n`);
  }

  /**
   * Makes `system` the current and default system again, as a rollback to a known system does
   * (`nixos-rebuild --rollback` would take the generation numbered below the current one, which
   * after an earlier rollback is not the previous system).
   */
  async function reactivate(h: Host, system: string): Promise<void> {
    await ok(h, `nix-env -p /nix/var/nix/profiles/system --set ${system} && ${system}/bin/switch-to-configuration switch`);
  }

  const login = (port?: number) => tryLogin(json, HOST, port);

  /** Reboots the host through its own reboot and waits for the next "up" event. */
  async function rebootAndWait(command = "reboot"): Promise<TimelineEvent> {
    const since = Date.now();
    const h = await connect(json, HOST);
    await h.exec(command, { timeoutMs: 10_000 }).catch(() => undefined);
    await h.close().catch(() => undefined);
    return waitForNextBoot(events, HOST, since, 30_000);
  }

  const lockouts: Array<[string, (t: string) => string, () => readonly string[], RegExp]> = [
    ["services.openssh.enable = false", (t) => t.replace("services.openssh.enable = true;", "services.openssh.enable = false;"), () => [clientKey], /ECONNREFUSED|refused/i],
    ["PermitRootLogin no", (t) => t.replace('PermitRootLogin = "prohibit-password"', 'PermitRootLogin = "no"'), () => [clientKey], /authentication|auth/i],
    ["another authorized key", (t) => t, () => [otherKey], /authentication|auth/i],
  ];
  let otherKey = "";

  before(async function () {
    otherKey = await generateKey(path.join(stateDir, "other_key"), "someone-else");
  });

  for (const [what, edit, keys, refusal] of lockouts) {
    it(`a switch to a configuration with ${what} locks new SSH sessions out; switching back lets them in`, async function () {
      assert.equal(await login(), "ok", "logins work before the switch");
      const session = await connect(json, HOST);
      try {
        const previous = (await ok(session, "readlink -f /run/current-system")).trim();
        await writeConfig(session, edit, keys());
        await ok(session, "nixos-rebuild switch");
        const refused = await login();
        assert.match(refused, refusal, "a new ssh2 login is refused");
        const cli = await sshCli(json, HOST, "true", 10_000);
        assert.notEqual(cli.code, 0, "the OpenSSH client is refused too");
        // The session that ran the switch stays, as on NixOS where stopping sshd.service leaves sessions alone.
        assert.equal((await ok(session, "echo still-here")).trim(), "still-here");
        await writeConfig(session);
        await reactivate(session, previous);
        assert.equal(await login(), "ok", "the previous configuration lets logins in again");
        assert.equal((await sshCli(json, HOST, "echo back")).stdout.trim(), "back");
      } finally {
        await session.close();
      }
    });
  }

  it("listens on services.openssh.ports instead of 22", async function () {
    const session = await connect(json, HOST);
    try {
      const previous = (await ok(session, "readlink -f /run/current-system")).trim();
      await writeConfig(session, (t) => t.replace("services.openssh.enable = true;", "services.openssh.enable = true;\n  services.openssh.ports = [ 2222 ];"));
      await ok(session, "nixos-rebuild switch");
      assert.match(await login(22), /ECONNREFUSED|refused/i);
      assert.equal(await login(2222), "ok");
      await writeConfig(session);
      await reactivate(session, previous);
      assert.equal(await login(22), "ok");
      assert.match(await login(2222), /ECONNREFUSED|refused/i);
    } finally {
      await session.close();
    }
  });

  it("a transient timer armed before a locking switch re-activates the previous system and lets logins back in", async function () {
    const session = await connect(json, HOST);
    try {
      const previous = (await ok(session, "readlink -f /run/current-system")).trim();
      await ok(session, `systemd-run --unit=guard --on-active=3 --timer-property=AccuracySec=100ms -- ${previous}/bin/switch-to-configuration test`);
      await writeConfig(session, (t) => t.replace("services.openssh.enable = true;", "services.openssh.enable = false;"));
      await ok(session, "nixos-rebuild switch");
      assert.match(await login(), /ECONNREFUSED|refused/i);
    } finally {
      await session.close();
    }
    await pollUntil(() => login(), (r) => r === "ok", 15_000, "the guard to re-activate the previous system");
    const h = await connect(json, HOST);
    try {
      assert.match(await ok(h, "journalctl -u guard.service -o cat"), /Deactivated successfully/);
      // Leave the host as the other tests expect it: the initial configuration, switched.
      await writeConfig(h);
      await ok(h, "nixos-rebuild switch");
    } finally {
      await h.close();
    }
  });

  it("systemd-run: a transient service survives the dropped SSH session, then reports its exit status", async function () {
    const h1 = await connect(json, HOST);
    let mainPid: number;
    try {
      const r = await h1.exec("systemd-run --unit=build1 --property=RemainAfterExit=yes -- sh -c 'echo started; sleep 3; echo finished; exit 3'", { timeoutMs: 20_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Running as unit: build1\.service$/m);
      assert.equal((await ok(h1, "systemctl is-active build1")).trim(), "active");
      const again = await h1.exec("systemd-run --unit=build1 -- true", { timeoutMs: 20_000 });
      assert.equal(again.code, 1);
      assert.match(again.stderr, /Failed to start transient service unit: Unit build1\.service was already loaded or has a fragment file\./);
      mainPid = Number((await ok(h1, "systemctl show -P MainPID build1")).trim());
      assert.ok(mainPid > 0, "the service has a main process");
    } finally {
      await h1.close();
    }
    await controlRequest(json.controlSocket, "POST", `/hosts/${HOST}/drop-sessions`, {});
    const h2 = await connect(json, HOST);
    try {
      assert.equal((await ok(h2, "systemctl show -p ActiveState,SubState build1")).trim(), "ActiveState=active\nSubState=running");
      const done = await pollUntil(
        () => h2.exec("systemctl show -p ActiveState,Result,ExecMainStatus build1", { timeoutMs: 10_000 }),
        (r) => r.stdout.includes("ActiveState=failed"),
        15_000,
        "build1 to end",
      );
      assert.equal(done.stdout.trim(), "ActiveState=failed\nResult=exit-code\nExecMainStatus=3");
      const is = await h2.exec("systemctl is-active build1", { timeoutMs: 10_000 });
      assert.deepEqual([is.code, is.stdout.trim()], [3, "failed"]);
      const journal = await ok(h2, "journalctl -u build1 -o cat");
      assert.match(journal, /^started$/m);
      assert.match(journal, /^finished$/m);
      assert.match(journal, /build1\.service: Main process exited, code=exited, status=3\/FAILURE/);
      assert.match(await ok(h2, "systemctl status build1 || true"), /Active: failed \(Result: exit-code\)/);
      // A failed unit keeps its name until reset-failed.
      assert.equal((await h2.exec("systemd-run --unit=build1 -- true", { timeoutMs: 10_000 })).code, 1);
      await ok(h2, "systemctl reset-failed build1");
      await ok(h2, "systemd-run --unit=build1 --property=RemainAfterExit=yes -- true");
      await pollUntil(() => ok(h2, "systemctl show -p ActiveState,SubState,ExecMainStatus build1"), (t) => t.includes("SubState=exited"), 10_000, "build1 to exit");
      assert.equal((await ok(h2, "systemctl show -p ActiveState,SubState,Result,ExecMainStatus build1")).trim(), "ActiveState=active\nSubState=exited\nResult=success\nExecMainStatus=0");
      await ok(h2, "systemctl stop build1");
      assert.equal((await ok(h2, "systemctl show -p LoadState build1")).trim(), "LoadState=not-found");
      // With --collect a unit is unloaded at its end, whatever its result: only the journal keeps the status.
      await ok(h2, "systemd-run --unit=quick --collect -- sh -c 'exit 7'");
      await pollUntil(() => ok(h2, "systemctl show -p LoadState quick"), (t) => t.trim() === "LoadState=not-found", 10_000, "quick to be unloaded");
      assert.match(await ok(h2, "journalctl -u quick -o cat"), /status=7\/FAILURE/);
    } finally {
      await h2.close();
    }
  });

  it("a nixos-rebuild under systemd-run goes on when the drop-ssh-during-rebuild fault cuts the SSH sessions", async function () {
    await fleet!.setFault(HOST, "drop-ssh-during-rebuild", true);
    try {
      const h1 = await connect(json, HOST);
      try {
        await ok(h1, "rm -f /var/lib/result");
        await ok(h1, "systemd-run --unit=rebuild1 -p RemainAfterExit=yes --working-directory=/var/lib -- nixos-rebuild build");
        await pollUntil(() => h1.exec("true", { timeoutMs: 5000 }).then(() => "alive", (e: Error) => e.message), (r) => r !== "alive", 20_000, "the fault to drop the session that started the build");
      } finally {
        await h1.close().catch(() => undefined);
      }
      const h2 = await connect(json, HOST);
      try {
        const done = await pollUntil(() => ok(h2, "systemctl show -p ActiveState,SubState,Result,ExecMainStatus rebuild1"), (t) => !t.includes("SubState=running"), 30_000, "rebuild1 to end");
        assert.equal(done.trim(), "ActiveState=active\nSubState=exited\nResult=success\nExecMainStatus=0");
        assert.match(await ok(h2, "readlink /var/lib/result"), /^\/nix\/store\/.*-nixos-system-srv1-/);
        await ok(h2, "systemctl stop rebuild1 && rm -f /var/lib/result");
      } finally {
        await h2.close();
      }
    } finally {
      await fleet!.setFault(HOST, "drop-ssh-during-rebuild", false);
    }
  });

  it("a transient timer fires after its delay unless it is stopped first", async function () {
    const h = await connect(json, HOST);
    try {
      await ok(h, "rm -f /var/lib/fired1 /var/lib/fired2");
      const r = await h.exec("systemd-run --on-active=3 --timer-property=AccuracySec=100ms --unit=t1 -- sh -c 'echo yes > /var/lib/fired1'", { timeoutMs: 10_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Running timer as unit: t1\.timer\nWill run service as unit: t1\.service/);
      await ok(h, "systemd-run --on-active=4 --timer-property=AccuracySec=100ms --unit=t2 -- sh -c 'echo yes > /var/lib/fired2'");
      assert.equal((await ok(h, "systemctl is-active t2.timer")).trim(), "active");
      assert.equal((await h.exec("test -e /var/lib/fired1", { timeoutMs: 5000 })).code, 1, "t1 has not fired yet");
      await ok(h, "systemctl stop t2.timer");
      assert.equal((await ok(h, "systemctl show -p LoadState t2.timer t2.service")).trim(), "LoadState=not-found\n\nLoadState=not-found");
      await pollUntil(() => h.exec("cat /var/lib/fired1", { timeoutMs: 5000 }), (x) => x.stdout.trim() === "yes", 10_000, "t1 to fire");
      await new Promise((res) => setTimeout(res, 2500));
      assert.equal((await h.exec("test -e /var/lib/fired2", { timeoutMs: 5000 })).code, 1, "the stopped timer t2 never fired");
    } finally {
      await h.close();
    }
  });

  it("a reboot kills transient services and cancels transient timers", async function () {
    const h = await connect(json, HOST);
    let mainPid: number;
    try {
      await ok(h, "rm -f /var/lib/late");
      await ok(h, "systemd-run --unit=long -- sleep 600");
      await ok(h, "systemd-run --on-active=4 --timer-property=AccuracySec=100ms --unit=late -- sh -c 'echo yes > /var/lib/late'");
      mainPid = Number((await ok(h, "systemctl show -P MainPID long")).trim());
      assert.ok(mainPid > 0);
    } finally {
      await h.close();
    }
    const up = await rebootAndWait();
    assert.ok(up.detail?.bootId);
    // Gone, or a zombie its new parent has not reaped yet: the machine's PID 1 may not reap.
    assert.equal(startTimeOf(mainPid), undefined, "the service's process died with the power cycle");
    const h2 = await connect(json, HOST);
    try {
      const is = await h2.exec("systemctl is-active long", { timeoutMs: 10_000 });
      assert.deepEqual([is.code, is.stdout.trim()], [3, "inactive"]);
      assert.equal((await ok(h2, "systemctl show -p LoadState late.timer")).trim(), "LoadState=not-found");
      await new Promise((res) => setTimeout(res, 4500));
      assert.equal((await h2.exec("test -e /var/lib/late", { timeoutMs: 5000 })).code, 1, "the timer did not fire after the reboot");
    } finally {
      await h2.close();
    }
  });

  it("bootctl set-oneshot boots an entry once, then the default again; so does systemctl reboot --boot-loader-entry", async function () {
    const h = await connect(json, HOST);
    let oldSystem: string;
    let newSystem: string;
    let entry: string;
    try {
      oldSystem = (await ok(h, "readlink -f /run/current-system")).trim();
      await writeConfig(h, (t) => t.replace('time.timeZone = "UTC";', 'time.timeZone = "Europe/Berlin";'));
      await ok(h, "cd /var/lib && nixos-rebuild build");
      newSystem = (await ok(h, "readlink -f /var/lib/result")).trim();
      assert.notEqual(newSystem, oldSystem);
      // A generation with a boot entry that is not the default: set the profile, step back, install the loader.
      await ok(h, `nix-env -p /nix/var/nix/profiles/system --set ${newSystem}`);
      const gen = Number((await ok(h, "readlink /nix/var/nix/profiles/system")).trim().replace(/^system-(\d+)-link$/, "$1"));
      entry = `nixos-generation-${gen}.conf`;
      await ok(h, "nix-env -p /nix/var/nix/profiles/system --rollback");
      await ok(h, "/nix/var/nix/profiles/system/bin/switch-to-configuration boot");
      const listed = JSON.parse(await ok(h, "bootctl list --json=short")) as Array<{ id: string; isDefault: boolean }>;
      assert.deepEqual(listed.find((e) => e.id === entry), { ...listed.find((e) => e.id === entry), isDefault: false });
      await ok(h, `bootctl set-oneshot ${entry}`);
      assert.match(await ok(h, "bootctl status"), new RegExp(`OneShot Entry: ${entry}`));
    } finally {
      await h.close();
    }
    assert.equal((await rebootAndWait()).detail?.system, newSystem, "the one-shot entry booted");
    const booted = await connect(json, HOST);
    try {
      assert.match(await ok(booted, "bootctl status"), new RegExp(`Current Entry: ${entry}\\n.*\\n  OneShot Entry: n/a`));
    } finally {
      await booted.close();
    }
    assert.equal((await rebootAndWait()).detail?.system, oldSystem, "the boot after it boots the default again");
    assert.equal((await rebootAndWait(`systemctl reboot --boot-loader-entry=${entry}`)).detail?.system, newSystem);
    assert.equal((await rebootAndWait()).detail?.system, oldSystem);
    const h3 = await connect(json, HOST);
    try {
      const bad = await h3.exec("systemctl reboot --boot-loader-entry=nixos-generation-999.conf", { timeoutMs: 10_000 });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /Boot loader entry 'nixos-generation-999\.conf' not known/);
      await writeConfig(h3);
    } finally {
      await h3.close();
    }
  });
});
