import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readBuildMs } from "../../sim/hosttools/system-state";
import { hostPaths } from "../../sim/layout";
import { BootError, chooseSystem, clearRun, diagnoseBootLoader, PowerOffWait, powerOn } from "../../sim/power";
import { parseAccepted, renderSshdConfig } from "../../sim/sshd";
import { isTimelineKind } from "../../sim/timeline";
import { DEFAULT_TIMINGS } from "../../sim/types";

describe("simulated fleet: boot loader and power (sim/power.ts)", function () {
  let dir: string;
  const system = "/nix/store/0000000000000000000000000000000a-nixos-system-srv1-24.11";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-power-"));
    const p = hostPaths(dir);
    fs.mkdirSync(path.join(p.boot, "loader", "entries"), { recursive: true });
    fs.mkdirSync(path.join(p.store, path.basename(system)), { recursive: true });
    fs.mkdirSync(p.run, { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const writeLoader = (conf: string, entry: string) => {
    const p = hostPaths(dir);
    fs.writeFileSync(path.join(p.boot, "loader", "loader.conf"), conf);
    fs.writeFileSync(path.join(p.boot, "loader", "entries", "nixos-generation-2.conf"), entry);
  };

  it("finds nothing wrong with a loader whose default entry boots a system in the store", function () {
    writeLoader("timeout 5\ndefault nixos-generation-2.conf\n", `title NixOS\nversion Generation 2\nlinux ${system}/kernel\noptions init=${system}/init loglevel=4\n`);
    assert.doesNotThrow(() => diagnoseBootLoader("srv1", dir));
  });

  it("names the problem when there is nothing to boot", function () {
    assert.throws(() => chooseSystem("srv1", dir), (e: unknown) => e instanceof BootError && /loader\.conf does not exist/.test(e.message));
  });

  const broken: Array<[string, string, RegExp]> = [
    ["timeout 5\n", "", /no "default" line/],
    ["default nixos-generation-9.conf\n", "", /nixos-generation-9.conf does not exist/],
    ["default nixos-generation-2.conf\n", "title NixOS\n", /no "options init=/],
    ["default nixos-generation-2.conf\n", "options init=/nix/store/ffff-missing/init\n", /not in the host's \/nix\/store/],
  ];
  for (const [conf, entry, re] of broken) {
    it(`refuses to boot when ${re.source}`, function () {
      writeLoader(conf, entry);
      assert.throws(() => diagnoseBootLoader("srv1", dir), (e: unknown) => e instanceof BootError && re.test(e.message) && e.message.startsWith("srv1 cannot boot"));
    });
  }

  /** Records `system` in the store as the simulated nixos-rebuild would: its record, os-release and kernel modules. */
  const recordSystem = (kernelParams: readonly string[]) => {
    const p = hostPaths(dir);
    const sys = path.join(p.store, path.basename(system));
    const modules = "/nix/store/0000000000000000000000000000000b-linux-6.6.45-modules";
    fs.mkdirSync(path.join(sys, "etc", "nixos-sim"), { recursive: true });
    fs.mkdirSync(path.join(p.store, path.basename(modules), "lib", "modules", "6.6.45"), { recursive: true });
    const info = { system, kernelVersion: "6.6.45", kernelModules: modules, kernelParams };
    fs.writeFileSync(path.join(sys, "etc", "nixos-sim", "system.json"), JSON.stringify(info));
    fs.writeFileSync(path.join(sys, "etc", "os-release"), 'NAME=NixOS\nID=nixos\nVERSION_ID="24.05"\n');
  };

  it("starts each boot with a fresh /run and the files the host tools read", function () {
    const p = hostPaths(dir);
    recordSystem(["loglevel=4", "console=ttyS0"]);
    fs.writeFileSync(path.join(p.run, "stale"), "x");
    fs.writeFileSync(p.bootIdFile, "old\n");
    fs.mkdirSync(path.dirname(p.kernel.cmdline), { recursive: true });
    fs.writeFileSync(p.kernel.cmdline, "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/sda1\n");
    const inode = fs.statSync(p.run).ino;
    const cmdlineInode = fs.statSync(p.kernel.cmdline).ino;
    powerOn(dir, system, "b-1", DEFAULT_TIMINGS, 1234);
    assert.equal(fs.statSync(p.run).ino, inode, "the /run folder itself is kept (the bind mount holds it)");
    assert.equal(fs.readFileSync(p.kernel.cmdline, "utf8"), `init=${system}/init loglevel=4 console=ttyS0\n`);
    assert.equal(fs.statSync(p.kernel.cmdline).ino, cmdlineInode, "/proc/cmdline's file is rewritten in place (the bind mount holds it)");
    assert.equal(fs.readFileSync(p.kernel.osrelease, "utf8"), "6.6.45\n", "uname -r: the release under the system's kernel modules");
    assert.match(fs.readFileSync(p.kernel.version, "utf8"), /^#1-NixOS SMP PREEMPT_DYNAMIC /);
    assert.match(fs.readFileSync(p.kernel.procVersion, "utf8"), /^Linux version 6\.6\.45 \(nixbld@localhost\) /);
    assert.match(fs.readFileSync(p.osRelease, "utf8"), /^ID=nixos$/m);
    assert.deepEqual(fs.readdirSync(p.run).sort(), ["booted-system", "current-system", "nixos-sim", "sshd", "wrappers"]);
    assert.equal(fs.readlinkSync(path.join(p.run, "current-system")), system);
    assert.equal(fs.readFileSync(p.bootIdFile, "utf8"), "b-1\n");
    assert.equal(fs.readFileSync(path.join(p.run, "nixos-sim", "booted-at"), "utf8").trim(), "1234");
    assert.equal(JSON.parse(fs.readFileSync(path.join(p.run, "nixos-sim", "timings.json"), "utf8")).systemdSettleMs, DEFAULT_TIMINGS.systemdSettleMs);
    powerOn(dir, system, "b-2", { ...DEFAULT_TIMINGS, buildMs: 4000 }, 1234);
    assert.equal(readBuildMs(path.join(p.run, "nixos-sim")), 4000, "nixos-rebuild reads the fleet's build duration from /run");
    clearRun(dir);
    assert.deepEqual(fs.readdirSync(p.run), []);
    assert.equal(readBuildMs(path.join(p.run, "nixos-sim")), DEFAULT_TIMINGS.buildMs, "without the boot's timings a build takes the default");
  });

  it("waits while powered off until the time is up or it is woken", async function () {
    const t0 = Date.now();
    await new PowerOffWait(60).done;
    assert.ok(Date.now() - t0 >= 55);
    const forever = new PowerOffWait(undefined);
    let done = false;
    void forever.done.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(done, false);
    forever.wake();
    await forever.done;
    const rescheduled = new PowerOffWait(10_000);
    rescheduled.reschedule(5);
    await rescheduled.done;
  });
});

describe("simulated fleet: sshd config and log (sim/sshd.ts)", function () {
  it("renders a root-by-key-only config with the session environment", function () {
    const text = renderSshdConfig({ address: "10.213.0.2", port: 22, hostKeyPath: "/s/key", authorizedKeysPath: "/s/ak", env: { PATH: "/run/wrappers/bin:/bin", NIXOS_SIM_HOST: "srv1" } });
    for (const line of ["ListenAddress 10.213.0.2:22", "PermitRootLogin prohibit-password", "PasswordAuthentication no", "UsePAM no", "StrictModes no", "Subsystem sftp internal-sftp", "LogLevel VERBOSE"]) {
      assert.ok(text.split("\n").includes(line), `${line} in\n${text}`);
    }
    assert.ok(text.includes('SetEnv "PATH=/run/wrappers/bin:/bin" "NIXOS_SIM_HOST=srv1"'));
    assert.throws(() => renderSshdConfig({ address: "a", port: 22, hostKeyPath: 'x"y', authorizedKeysPath: "b", env: {} }), /double quote/);
  });

  it("reads accepted logins from sshd's log", function () {
    assert.deepEqual(parseAccepted("Accepted publickey for root from 10.213.0.1 port 40522 ssh2: ED25519 SHA256:abc"), {
      method: "publickey",
      user: "root",
      from: "10.213.0.1",
      port: 40522,
    });
    assert.equal(parseAccepted("Accepted key ED25519 SHA256:abc found at /x:1"), undefined);
    assert.equal(parseAccepted("Connection from 10.213.0.1 port 1 on 10.213.0.2 port 22"), undefined);
  });

  it("knows every timeline kind and nothing else", function () {
    assert.ok(isTimelineKind("ssh-session") && isTimelineKind("fault") && isTimelineKind("ready"));
    assert.ok(!isTimelineKind("boot") && !isTimelineKind(3) && !isTimelineKind("toString"));
  });
});
