/**
 * systemctl start|stop|restart act on a simulated host's own units as systemd does: a stopped
 * unit is inactive until it is started, or until the next boot or switch starts it; stopping
 * sshd.service closes the door for new SSH sessions while open ones stay; units the system does
 * not have, or that fail to start, fail in systemd's words. One host of a real simulated fleet;
 * needs root, OpenSSH and nix-instantiate.
 */
import * as assert from "node:assert/strict";
import type { Host } from "../../lib/host/host";
import type { SimFleet } from "../../sim/fleet";
import { initialConfiguration } from "../../sim/hosttools";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { connect, sshCli, tryLogin, waitForNextBoot } from "./helpers/fleet-client";
import { execOk, useSimFleet } from "./helpers/fleet-suite";

const TIMINGS: Partial<SimTimings> = { downMs: 300, slowBootMs: 1000, systemdSettleMs: 100, kubeletReadyMs: 100, podTerminationMs: 50, rescheduleMs: 100 };
const HOST = "srv1";

describe("simulated host: systemctl start, stop and restart of the system's units", function () {
  this.timeout(240_000);
  let fleet: SimFleet | undefined;
  let json: FleetJson;
  let clientKey: string;
  const events = (): TimelineEvent[] => (fleet ? fleet.timeline() : []);

  useSimFleet("nfsim-units-", { hosts: [HOST], timings: TIMINGS }, (s) => {
    ({ fleet, json, clientKey } = s);
  });

  const ok = execOk;

  const login = () => tryLogin(json, HOST);

  async function writeConfig(h: Host, edit: (text: string) => string = (t) => t): Promise<void> {
    const text = edit(initialConfiguration(HOST, { authorizedKeys: [clientKey] })["configuration.nix"]);
    await ok(h, `cat > /etc/nixos/configuration.nix <<'NIXCFG'\n${text}NIXCFG\n`);
  }

  it("systemctl stop sshd refuses new SSH sessions, keeps the open one, and systemctl start sshd lets them in again", async function () {
    const session = await connect(json, HOST);
    try {
      await ok(session, "systemctl stop sshd");
      const is = await session.exec("systemctl is-active sshd", { timeoutMs: 10_000 });
      assert.deepEqual([is.code, is.stdout], [3, "inactive\n"]);
      assert.equal(await ok(session, "systemctl show -p ActiveState,SubState sshd.service"), "ActiveState=inactive\nSubState=dead\n");
      const status = await session.exec("systemctl status sshd", { timeoutMs: 10_000 });
      assert.equal(status.code, 3);
      assert.match(status.stdout, /^○ sshd\.service\n.*\n\s+Active: inactive \(dead\)$/m);
      assert.match(await login(), /ECONNREFUSED|refused/i, "a new ssh2 login is refused");
      assert.notEqual((await sshCli(json, HOST, "true", 10_000)).code, 0, "the OpenSSH client is refused too");
      assert.equal((await ok(session, "echo still-here")).trim(), "still-here", "the session that stopped sshd stays");
      assert.equal(await ok(session, "systemctl is-system-running"), "running\n", "a unit stopped by hand does not degrade the system");
      assert.doesNotMatch(await ok(session, "systemctl list-units --no-legend"), /sshd\.service/, "list-units shows active units only");
      assert.match(await ok(session, "systemctl list-units --all --no-legend"), /sshd\.service +loaded +inactive +dead/);

      await ok(session, "systemctl start sshd");
      assert.equal(await ok(session, "systemctl is-active sshd"), "active\n");
      assert.equal(await login(), "ok");
      assert.equal((await sshCli(json, HOST, "echo back")).stdout.trim(), "back");
      const journal = await ok(session, "journalctl -u sshd.service -o cat");
      assert.match(journal, /Stopping sshd\.service\.\.\.\nStopped sshd\.service\.\nStarting sshd\.service\.\.\.\nStarted sshd\.service\./);
    } finally {
      await session.close();
    }
  });

  it("systemctl restart starts a stopped unit; a switch starts every unit stopped by hand again", async function () {
    const session = await connect(json, HOST);
    try {
      await ok(session, "systemctl stop sshd.service nscd");
      assert.match(await login(), /ECONNREFUSED|refused/i);
      await ok(session, "systemctl restart sshd");
      assert.equal(await login(), "ok");
      assert.equal((await session.exec("systemctl is-active nscd", { timeoutMs: 10_000 })).stdout, "inactive\n", "restarting sshd left nscd stopped");
      await ok(session, "systemctl stop sshd");
      assert.match(await login(), /ECONNREFUSED|refused/i);
      await ok(session, "nixos-rebuild switch");
      assert.equal(await ok(session, "systemctl is-active sshd nscd"), "active\nactive\n");
      assert.equal(await login(), "ok", "the switch started sshd again");
    } finally {
      await session.close();
    }
  });

  it("systemctl stop sshd, then reboot: the door stays closed until the host comes back with sshd running", async function () {
    const since = Date.now();
    const h = await connect(json, HOST);
    try {
      await ok(h, "systemctl stop sshd");
      assert.match(await login(), /ECONNREFUSED|refused/i, "sshd is stopped before the reboot");
      await h.exec("reboot", { timeoutMs: 10_000 }).catch(() => undefined);
    } finally {
      await h.close().catch(() => undefined);
    }
    await waitForNextBoot(events, HOST, since, 30_000);
    assert.equal(await login(), "ok", "the boot started sshd again");
    const after = await connect(json, HOST);
    try {
      assert.equal(await ok(after, "systemctl is-active sshd"), "active\n");
    } finally {
      await after.close();
    }
  });

  it("units the system does not have, and units that fail to start, fail as systemd says", async function () {
    const h = await connect(json, HOST);
    try {
      const stop = await h.exec("systemctl stop nope", { timeoutMs: 10_000 });
      assert.deepEqual([stop.code, stop.stderr], [5, "Failed to stop nope.service: Unit nope.service not loaded.\n"]);
      const start = await h.exec("systemctl start nope.service", { timeoutMs: 10_000 });
      assert.deepEqual([start.code, start.stderr], [5, "Failed to start nope.service: Unit nope.service not found.\n"]);
      const restart = await h.exec("systemctl restart nope", { timeoutMs: 10_000 });
      assert.deepEqual([restart.code, restart.stderr], [5, "Failed to restart nope.service: Unit nope.service not found.\n"]);

      await writeConfig(h, (t) => t.replace('time.timeZone = "UTC";', 'time.timeZone = "UTC";\n  systemd.services.broken = { wantedBy = [ "multi-user.target" ]; serviceConfig.ExecStart = "${pkgs.coreutils}/bin/false"; };'));
      assert.equal((await h.exec("nixos-rebuild switch", { timeoutMs: 60_000 })).code, 1, "the switch reports the unit that failed");
      const again = await h.exec("systemctl start broken", { timeoutMs: 10_000 });
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^Job for broken\.service failed because the control process exited with error code\.\nSee "systemctl status broken\.service" and "journalctl -xeu broken\.service" for details\.\n$/);
      await ok(h, "systemctl stop broken");
      assert.equal((await h.exec("systemctl is-active broken", { timeoutMs: 10_000 })).stdout, "failed\n", "a failed unit stays failed when stopped");
      await writeConfig(h);
      await ok(h, "nixos-rebuild switch");
    } finally {
      await h.close();
    }
  });
});
