/**
 * A simulated host looks like the NixOS system it booted from inside an SSH session: `uname`,
 * /proc/cmdline and /proc/version name the booted system's kernel and parameters (and keep
 * naming them across a live switch, as the running kernel does not change), /etc/os-release is
 * NixOS's and follows activation, and configurations that an installer wrote with
 * `"${modulesPath}/…"` build. One host of a real simulated fleet; needs root, OpenSSH and
 * nix-instantiate.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import type { Host } from "../../lib/host/host";
import type { SimFleet } from "../../sim/fleet";
import { initialConfiguration } from "../../sim/hosttools";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { connect, waitForNextBoot } from "./helpers/fleet-client";
import { execOk, useSimFleet } from "./helpers/fleet-suite";

const TIMINGS: Partial<SimTimings> = { downMs: 300, slowBootMs: 1000, systemdSettleMs: 100, kubeletReadyMs: 100, podTerminationMs: 50, rescheduleMs: 100 };
const HOST = "srv1";

/** What a session sees of the host's kernel and release. */
interface Facts {
  readonly booted: string;
  readonly current: string;
  readonly release: string;
  readonly unameAll: string;
  readonly cmdline: string;
  readonly procVersion: string;
  readonly osRelease: Map<string, string>;
  /** The booted system's own record: its kernel-params and its modules' release folder. */
  readonly bootedParams: string;
  readonly bootedModules: string;
  readonly currentVersion: string;
}

describe("simulated host: uname, /proc/cmdline, /etc/os-release and modulesPath as on NixOS", function () {
  this.timeout(240_000);
  let fleet: SimFleet | undefined;
  let json: FleetJson;
  let clientKey: string;
  const events = (): TimelineEvent[] => (fleet ? fleet.timeline() : []);

  useSimFleet("nfsim-facts-", { hosts: [HOST], timings: TIMINGS }, (s) => {
    ({ fleet, json, clientKey } = s);
  });

  const ok = execOk;

  async function facts(): Promise<Facts> {
    const h = await connect(json, HOST);
    try {
      const one = async (command: string) => (await ok(h, command)).trim();
      const osRelease = new Map<string, string>();
      for (const line of (await ok(h, "cat /etc/os-release")).split("\n")) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line);
        if (m) osRelease.set(m[1], m[2].replace(/^"(.*)"$/, "$1"));
      }
      return {
        booted: await one("readlink /run/booted-system"),
        current: await one("readlink /run/current-system"),
        release: await one("uname -r"),
        unameAll: await one("uname -a"),
        cmdline: await one("cat /proc/cmdline"),
        procVersion: await one("cat /proc/version"),
        osRelease,
        bootedParams: await one("cat /run/booted-system/kernel-params"),
        bootedModules: await one("ls /run/booted-system/kernel-modules/lib/modules"),
        currentVersion: await one("nixos-version"),
      };
    } finally {
      await h.close();
    }
  }

  /** Writes configuration.nix (the installer's, edited) and hardware-configuration.nix when given. */
  async function writeConfig(h: Host, edit: (text: string) => string = (t) => t, hardware?: string): Promise<void> {
    const files = initialConfiguration(HOST, { authorizedKeys: [clientKey] });
    const text = edit(files["configuration.nix"]);
    await ok(h, `cat > /etc/nixos/configuration.nix <<'NIXCFG'\n${text}NIXCFG\n`);
    await ok(h, `cat > /etc/nixos/hardware-configuration.nix <<'NIXCFG'\n${hardware ?? files["hardware-configuration.nix"]}NIXCFG\n`);
  }

  async function rebootAndWait(): Promise<TimelineEvent> {
    const since = Date.now();
    const h = await connect(json, HOST);
    await h.exec("reboot", { timeoutMs: 10_000 }).catch(() => undefined);
    await h.close().catch(() => undefined);
    return waitForNextBoot(events, HOST, since, 30_000);
  }

  it("shows the booted system's kernel, kernel parameters and NixOS release, not the machine's", async function () {
    const f = await facts();
    assert.equal(f.release, f.bootedModules, "uname -r is the booted kernel's release");
    assert.equal(f.release, "6.6.45", "the channel's default kernel");
    assert.notEqual(f.release, os.release(), "not the machine's kernel");
    const fields = f.unameAll.split(" ");
    assert.deepEqual([fields[0], fields[1], fields[2]], ["Linux", HOST, f.release]);
    assert.match(f.unameAll, / #1-NixOS SMP PREEMPT_DYNAMIC .* x86_64 GNU\/Linux$/);
    assert.equal(f.cmdline, `init=${f.booted}/init ${f.bootedParams}`);
    assert.match(f.procVersion, new RegExp(`^Linux version ${f.release.replace(/\./g, "\\.")} \\(nixbld@localhost\\) `));
    assert.equal(f.osRelease.get("NAME"), "NixOS");
    assert.equal(f.osRelease.get("ID"), "nixos");
    assert.equal(f.osRelease.get("VERSION_ID"), "24.05");
    assert.equal(f.osRelease.get("PRETTY_NAME"), "NixOS 24.05 (Uakari)");
    assert.equal(f.osRelease.get("BUILD_ID"), f.currentVersion.replace(/ \(.*\)$/, ""));
    // The machine running the simulation keeps its own.
    assert.doesNotMatch(fs.readFileSync("/proc/cmdline", "utf8"), /init=\/nix\/store\//);
    assert.doesNotMatch(fs.readFileSync("/etc/os-release", "utf8"), /^ID=nixos$/m);
  });

  it("a live switch to another kernel and parameters keeps the running kernel; the reboot into it shows the new one", async function () {
    const before = await facts();
    const h = await connect(json, HOST);
    try {
      await writeConfig(h, (t) => t.replace('time.timeZone = "UTC";', 'time.timeZone = "UTC";\n  boot.kernelPackages = pkgs.linuxPackages_6_1;\n  boot.kernelParams = [ "console=ttyS0,115200" ];'));
      // The channel moves on as well: the new system is another NixOS build.
      await ok(h, "nixos-rebuild switch --upgrade");
    } finally {
      await h.close();
    }
    const switched = await facts();
    assert.notEqual(switched.current, before.current, "the new system runs");
    assert.equal(switched.booted, before.booted);
    assert.equal(switched.release, before.release, "a switch does not change the running kernel");
    assert.equal(switched.cmdline, before.cmdline, "nor its command line");
    assert.equal(switched.procVersion, before.procVersion);
    assert.equal(switched.osRelease.get("BUILD_ID"), switched.currentVersion.replace(/ \(.*\)$/, ""), "/etc/os-release follows the activated system");
    assert.notEqual(switched.osRelease.get("BUILD_ID"), before.osRelease.get("BUILD_ID"));

    const up = await rebootAndWait();
    assert.equal(up.detail?.system, switched.current);
    const rebooted = await facts();
    assert.equal(rebooted.booted, switched.current);
    assert.equal(rebooted.release, "6.1.106", "the 6.1 kernel of the latest nixos-24.05 revision, which --upgrade fetched");
    assert.equal(rebooted.release, rebooted.bootedModules);
    assert.match(rebooted.unameAll, /^Linux srv1 6\.1\.106 /);
    assert.equal(rebooted.cmdline, `init=${rebooted.booted}/init ${rebooted.bootedParams}`);
    assert.match(rebooted.cmdline, / console=ttyS0,115200( |$)/);
    assert.equal(rebooted.osRelease.get("BUILD_ID"), switched.osRelease.get("BUILD_ID"));
  });

  it('builds configurations that import modules as installers write them: "${modulesPath}/…"', async function () {
    const h = await connect(json, HOST);
    try {
      const hardware = `{ config, lib, pkgs, modulesPath, ... }:
{
  imports = [
    "\${modulesPath}/profiles/qemu-guest.nix"
    "\${modulesPath}/installer/scan/not-detected.nix"
    "\${modulesPath}/profiles/minimal.nix"
    (modulesPath + "/profiles/headless.nix")
  ];
  boot.initrd.availableKernelModules = [ "ahci" "virtio_pci" ];
  fileSystems."/" = { device = "/dev/vda2"; fsType = "ext4"; };
  fileSystems."/boot" = { device = "/dev/vda1"; fsType = "vfat"; };
}
`;
      await writeConfig(h, (t) => t, hardware);
      await ok(h, "nixos-rebuild switch");
      const params = (await ok(h, "cat /run/current-system/kernel-params")).trim();
      assert.match(params, /\bpanic=1 boot\.panic_on_fail\b/, "the headless profile is in the built system");
      // An LXD virtual machine's configuration, as its image ships it.
      await writeConfig(h, (t) => t.replace("imports = [ ./hardware-configuration.nix ];", 'imports = [ "${modulesPath}/virtualisation/lxd-virtual-machine.nix" ];').replace("{ config, lib, pkgs, ... }:", "{ config, lib, pkgs, modulesPath, ... }:"));
      const lxd = await h.exec("nixos-rebuild build", { timeoutMs: 60_000 });
      assert.equal(lxd.code, 0, lxd.stderr);
      // A misspelt module is Nix's own error, naming the file.
      await writeConfig(h, (t) => t, hardware.replace("qemu-guest.nix", "qemu-guests.nix"));
      const bad = await h.exec("nixos-rebuild build", { timeoutMs: 60_000 });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /profiles\/qemu-guests\.nix.*No such file or directory|No such file or directory.*profiles\/qemu-guests\.nix/s);
      await writeConfig(h);
    } finally {
      await h.close();
    }
  });
});
