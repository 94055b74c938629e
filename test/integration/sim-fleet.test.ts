/**
 * The simulated fleet end to end: three hosts in their own namespaces behind real sshd, the
 * host tools, the control plane and its simulated kubelets, every fault, the timeline, and a clean stop.
 * Needs root, OpenSSH (sshd and ssh), iproute2, util-linux and nix-instantiate (kubectl only in sim-kube-kubectl.test.ts).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kubeCluster } from "../../lib/cluster/kube";
import { HostConnectionError, HostKeyMismatchError } from "../../lib/host/host";
import { fingerprint, parsePublicKeyLine } from "../../lib/host/keys";
import { controlRequest } from "../../sim/client";
import { SimFleet } from "../../sim/fleet";
import { SESSION_PATH } from "../../sim/layout";
import { ALL_MOUNTS } from "../../sim/mounts";
import { readResources, type ResourcesJson } from "../../sim/resources";
import { readTimelineFile } from "../../sim/timeline";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { connect, exec1, hostInfo, leftoversOf, pollUntil, sshCli, waitForEvent } from "./helpers/fleet-client";

const TIMINGS: Partial<SimTimings> = { downMs: 700, slowBootMs: 2500, systemdSettleMs: 1500, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 200 };
const NAMES = ["srv1", "srv2", "srv3"];

describe("simulated fleet (sim/fleet.ts)", function () {
  this.timeout(180_000);
  let stateDir: string;
  let fleet: SimFleet | undefined;
  let json: FleetJson;
  let res: ResourcesJson;
  let mountpointsBefore: Set<string>;
  const events = (): TimelineEvent[] => (fleet ? fleet.timeline() : []);
  const f = (): SimFleet => {
    if (!fleet) throw new Error("the fleet is not running");
    return fleet;
  };

  /** Reboots through the host's own `reboot` and waits until it is up again; returns the new "up" event. */
  async function rebootAndWait(name: string): Promise<TimelineEvent> {
    const since = Date.now();
    f().reboot(name);
    await waitForEvent(events, { host: name, kind: "down", since }, 10_000);
    return waitForEvent(events, { host: name, kind: "up", since }, 20_000);
  }

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    for (const tool of ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/nix-instantiate"]) assert.ok(fs.existsSync(tool), `${tool} is needed`);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-fleet-"));
    mountpointsBefore = new Set(ALL_MOUNTS.map((m) => m.target).filter((t) => fs.existsSync(t)));
    const t0 = Date.now();
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    console.log(`      (3 hosts started in ${Date.now() - t0} ms)`);
    json = fleet.fleetJson;
    res = readResources(stateDir) as ResourcesJson;
  });

  after(async function () {
    try {
      if (fleet) await fleet.stop();
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("writes fleet.json, the client key, known_hosts, the timeline and resources.json", function () {
    const onDisk = JSON.parse(fs.readFileSync(path.join(stateDir, "fleet.json"), "utf8")) as FleetJson;
    assert.deepEqual(onDisk, json);
    assert.deepEqual(json.hosts.map((h) => h.name), NAMES);
    assert.equal(new Set(json.hosts.map((h) => h.address)).size, 3);
    for (const h of json.hosts) {
      assert.equal(parsePublicKeyLine(h.hostKey).type, "ssh-ed25519");
      assert.equal(h.port, 22);
    }
    assert.match(fs.readFileSync(json.sshKeyPath, "utf8"), /BEGIN OPENSSH PRIVATE KEY/);
    assert.ok(fs.existsSync(json.kubeconfig) && fs.existsSync(json.timeline) && fs.existsSync(json.controlSocket));
    const known = fs.readFileSync(path.join(stateDir, "known_hosts"), "utf8");
    for (const h of json.hosts) assert.ok(known.includes(`${h.address} ${h.hostKey}`));
    assert.equal(res.netns.length, 3);
    assert.equal(res.holders.length, 3);
  });

  it("answers on every host with ssh2 and with the real ssh client, checked against fleet.json's host keys", async function () {
    for (const name of NAMES) {
      const h = await connect(json, name);
      try {
        assert.equal((await h.exec("hostname")).stdout.trim(), name);
      } finally {
        await h.close();
      }
      const r = await sshCli(json, name, "hostname");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), name);
    }
  });

  it("gives sessions the NixOS PATH and the fleet's environment, also in login shells", async function () {
    const r = await exec1(json, "srv2", 'echo "$PATH"; echo "$NIXOS_SIM_HOST"; bash -lc \'echo "$PATH"\'');
    assert.deepEqual(r.stdout.trim().split("\n"), [SESSION_PATH, "srv2", SESSION_PATH]);
  });

  it("shows each host its own /etc/nixos, /nix/store, /nix/var/nix, boot_id and /run/current-system", async function () {
    const seen = [];
    for (const name of NAMES) {
      const r = await exec1(
        json,
        name,
        `echo ${name} > /etc/nixos/owner && cat /etc/nixos/owner && cat /proc/sys/kernel/random/boot_id && readlink /run/current-system && ls /nix/store | wc -l && test -e /etc/nixos/configuration.nix && nixos-version`,
      );
      assert.equal(r.code, 0, r.stderr);
      const [owner, bootId, system, storeCount, version] = r.stdout.trim().split("\n");
      assert.equal(owner, name);
      assert.match(system, /^\/nix\/store\/[a-z0-9]{32}-nixos-system-/);
      assert.ok(Number(storeCount) > 0);
      assert.ok(version.length > 0);
      assert.equal(bootId, f().hostState(name).bootId);
      seen.push({ owner, bootId, system });
    }
    assert.equal(new Set(seen.map((s) => s.bootId)).size, 3, "each host has its own boot_id");
    assert.notEqual(seen[0].bootId, fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(), "and not the machine's");
    assert.equal((await exec1(json, "srv1", "cat /etc/nixos/owner")).stdout.trim(), "srv1", "srv2 and srv3 did not overwrite srv1's file");
    const foreign = await exec1(json, "srv2", `test -e ${seen[0].system} && echo shared || echo own`);
    assert.equal(foreign.stdout.trim(), "own", "srv1's system is not in srv2's /nix/store");
    assert.ok(!fs.existsSync("/etc/nixos/owner"), "the machine's /etc/nixos is untouched");
    // The Nix state folder (database, gcroots, profiles) is the host's own, not the machine's.
    const marker = "nixos-fleet-test-owner";
    const nixVar = await exec1(json, "srv3", `touch /nix/var/nix/${marker} && test -L /nix/var/nix/profiles/system && echo ok`);
    assert.equal(nixVar.stdout.trim(), "ok", nixVar.stderr);
    assert.ok(fs.existsSync(path.join(stateDir, "hosts", "srv3", "fs", "nix-var", marker)), "written to srv3's own folder");
    assert.ok(!fs.existsSync(`/nix/var/nix/${marker}`), "the machine's /nix/var/nix is untouched");
  });

  it("reports `systemctl is-system-running` as starting after boot, then running", async function () {
    const up = await rebootAndWait("srv3");
    const first = await pollUntil(() => exec1(json, "srv3", "systemctl is-system-running"), (r) => r.stdout.trim() !== "", 5000, "an answer from srv3");
    assert.equal(first.stdout.trim(), "starting", `${Date.now() - up.t} ms after boot`);
    assert.notEqual(first.code, 0);
    const later = await pollUntil(() => exec1(json, "srv3", "systemctl is-system-running"), (r) => r.stdout.trim() === "running", 10_000, "srv3 to be running");
    assert.equal(later.code, 0);
  });

  it("reboots: the session drops, the host is unreachable while down, and it boots the new boot default with a new boot_id", async function () {
    const before = await exec1(json, "srv2", "cat /proc/sys/kernel/random/boot_id; readlink /run/current-system");
    const [oldBootId, oldSystem] = before.stdout.trim().split("\n");
    const edit = await exec1(json, "srv2", `sed -i 's|^}$|  environment.etc."fleet-test".text = "rebooted";\\n}|' /etc/nixos/configuration.nix && nixos-rebuild boot`, 120_000);
    assert.equal(edit.code, 0, edit.stdout + edit.stderr);
    const built = await exec1(json, "srv2", "readlink -f /nix/var/nix/profiles/system; readlink /run/current-system");
    const [newSystem, stillCurrent] = built.stdout.trim().split("\n");
    assert.notEqual(newSystem, oldSystem, "the changed configuration is a new system");
    assert.equal(stillCurrent, oldSystem, "nixos-rebuild boot does not activate");

    const session = await connect(json, "srv2");
    const since = Date.now();
    const running = session.exec("sleep 30");
    const dropped = assert.rejects(running, HostConnectionError);
    const r = await session.exec("reboot").catch((e: unknown) => e);
    assert.ok(!(r instanceof Error) || r instanceof HostConnectionError, String(r));
    await dropped;
    await session.close();
    await waitForEvent(events, { host: "srv2", kind: "down", since }, 5000);
    await assert.rejects(connect(json, "srv2", 300), HostConnectionError, "unreachable while down");
    const up = await waitForEvent(events, { host: "srv2", kind: "up", since }, 10_000);
    const downAt = (await waitForEvent(events, { host: "srv2", kind: "down", since }, 1)).t;
    assert.ok(up.t - downAt >= (TIMINGS.downMs as number) - 20, `down for ${up.t - downAt} ms`);
    const after = await exec1(json, "srv2", "cat /proc/sys/kernel/random/boot_id; readlink /run/booted-system; readlink /run/current-system; readlink -f /nix/var/nix/profiles/system");
    const [bootId, booted, current, profile] = after.stdout.trim().split("\n");
    assert.notEqual(bootId, oldBootId);
    assert.equal(up.detail?.bootId, bootId);
    assert.equal(booted, newSystem);
    assert.equal(current, newSystem);
    assert.equal(profile, newSystem);
  });

  it("fault build-fails: nixos-rebuild of a changed configuration fails and the timeline says so", async function () {
    const change = `sed -i 's|^}$|  environment.etc."build-fails-test".text = "x";\\n}|' /etc/nixos/configuration.nix`;
    assert.equal((await exec1(json, "srv1", change)).code, 0);
    await f().setFault("srv1", "build-fails", true);
    try {
      const since = Date.now();
      const r = await exec1(json, "srv1", "nixos-rebuild boot", 60_000);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /error/);
      const finished = await waitForEvent(events, { host: "srv1", kind: "build-finished", since }, 5000);
      assert.equal(finished.detail?.ok, false);
    } finally {
      await f().setFault("srv1", "build-fails", false);
    }
    const since = Date.now();
    const ok = await exec1(json, "srv1", "nixos-rebuild boot", 60_000);
    assert.equal(ok.code, 0, ok.stderr);
    const finished = await waitForEvent(events, { host: "srv1", kind: "build-finished", since }, 5000);
    assert.equal(finished.detail?.ok, true);
  });

  it("fault never-returns: the host stays down until the fault is cleared", async function () {
    await f().setFault("srv3", "never-returns", true);
    const since = Date.now();
    f().reboot("srv3");
    await waitForEvent(events, { host: "srv3", kind: "down", since }, 5000);
    await new Promise((r) => setTimeout(r, (TIMINGS.downMs as number) * 3));
    assert.equal(f().hostState("srv3").power, "down");
    assert.ok(!events().some((e) => e.host === "srv3" && e.kind === "up" && e.t >= since));
    await assert.rejects(connect(json, "srv3", 500), HostConnectionError);
    const cleared = Date.now();
    await f().setFault("srv3", "never-returns", false);
    const up = await waitForEvent(events, { host: "srv3", kind: "up", since }, 5000);
    assert.ok(up.t - cleared < 3000, "boots soon after the fault is cleared");
  });

  it("fault slow-boot: the host stays down for slowBootMs", async function () {
    await f().setFault("srv3", "slow-boot", true);
    try {
      const since = Date.now();
      const up = await rebootAndWait("srv3");
      const down = await waitForEvent(events, { host: "srv3", kind: "down", since }, 1);
      assert.ok(up.t - down.t >= (TIMINGS.slowBootMs as number) - 20, `down for ${up.t - down.t} ms`);
    } finally {
      await f().setFault("srv3", "slow-boot", false);
    }
  });

  /** Makes a new generation the boot default (a configuration change), as a rollout would. */
  async function stageNewSystem(name: string, tag: string): Promise<void> {
    const script = [
      "cd /etc/nixos",
      "[ -f fleet-sim-base.nix ] || mv configuration.nix fleet-sim-base.nix",
      `printf '{ ... }: { imports = [ ./fleet-sim-base.nix ]; environment.variables.SIM_TAG = "%s"; }\\n' ${tag} > configuration.nix`,
      "nixos-rebuild boot",
    ].join(" && ");
    const r = await exec1(json, name, script, 60_000);
    assert.equal(r.code, 0, r.stderr);
  }

  it("fault kubelet-never-ready: a boot into a system built after the fault was set never turns Ready; systems built before are spared", async function () {
    await f().setFault("srv2", "kubelet-never-ready", true);
    const spared = await rebootAndWait("srv2");
    await waitForEvent(events, { host: "srv2", kind: "ready", since: spared.t }, 10_000);
    await stageNewSystem("srv2", "kubelet");
    const up = await rebootAndWait("srv2");
    await new Promise((r) => setTimeout(r, (TIMINGS.kubeletReadyMs as number) * 5));
    assert.ok(!events().some((e) => e.host === "srv2" && e.kind === "ready" && e.t >= up.t), "no ready event");
    const node = await kubeCluster(fs.readFileSync(json.kubeconfig, "utf8")).getNode("srv2");
    assert.equal(node?.ready, false);
    const since = Date.now();
    await f().setFault("srv2", "kubelet-never-ready", false);
    await waitForEvent(events, { host: "srv2", kind: "ready", since }, 10_000);
  });

  it("fault degraded: after a boot into a system built after the fault was set, systemctl is-system-running says degraded", async function () {
    await f().setFault("srv1", "degraded", true);
    try {
      const spared = await exec1(json, "srv1", "systemctl is-system-running");
      assert.equal(spared.stdout.trim(), "running", "the system built before the fault was set is spared");
      await stageNewSystem("srv1", "degraded");
      await rebootAndWait("srv1");
      const r = await pollUntil(() => exec1(json, "srv1", "systemctl is-system-running"), (x) => x.stdout.trim() === "degraded", 10_000, "srv1 to be degraded");
      assert.notEqual(r.code, 0);
    } finally {
      await f().setFault("srv1", "degraded", false);
    }
    const r = await exec1(json, "srv1", "systemctl is-system-running");
    assert.equal(r.stdout.trim(), "running");
  });

  it("fault drop-ssh-during-rebuild: the SSH session drops in the middle of nixos-rebuild", async function () {
    await f().setFault("srv1", "drop-ssh-during-rebuild", true);
    try {
      const h = await connect(json, "srv1");
      const t0 = Date.now();
      await assert.rejects(h.exec("nixos-rebuild boot", { timeoutMs: 60_000 }), HostConnectionError);
      assert.ok(Date.now() - t0 < 30_000);
      await h.close();
      assert.equal((await exec1(json, "srv1", "echo back")).stdout, "back\n", "sshd still accepts new sessions");
    } finally {
      await f().setFault("srv1", "drop-ssh-during-rebuild", false);
    }
  });

  it("fault pdb-blocks: a PodDisruptionBudget forbids evicting a pod from the host", async function () {
    const cluster = kubeCluster(fs.readFileSync(json.kubeconfig, "utf8"));
    await f().setFault("srv3", "pdb-blocks", true);
    const since = Date.now();
    try {
      await cluster.setUnschedulable("srv3", true);
      const pinned = (await cluster.listPodsOnNode("srv3")).find((p) => p.name.startsWith("pinned-srv3"));
      assert.ok(pinned, "the fault puts a pod under a PodDisruptionBudget on the host");
      const result = await cluster.evictPod(pinned);
      assert.equal(result.kind, "blocked");
      assert.match(result.kind === "blocked" ? result.message : "", /disruption budget/i);
      await waitForEvent(events, { host: "srv3", kind: "cordon", since }, 5000);
      await waitForEvent(events, { host: "srv3", kind: "eviction", since, where: (e) => e.detail?.result === "blocked" }, 5000);
    } finally {
      await f().setFault("srv3", "pdb-blocks", false);
      await cluster.setUnschedulable("srv3", false);
    }
    await waitForEvent(events, { host: "srv3", kind: "uncordon", since }, 5000);
  });

  it("fault host-key-changed: another key answers, ssh2 and ssh refuse it, and the old key is back when cleared", async function () {
    const info = hostInfo(json, "srv1");
    await f().setFault("srv1", "host-key-changed", true);
    try {
      await assert.rejects(connect(json, "srv1"), (e: unknown) => {
        assert.ok(e instanceof HostKeyMismatchError, String(e));
        assert.ok(e.message.includes(fingerprint(parsePublicKeyLine(info.hostKey).blob)));
        return true;
      });
      const cli = await sshCli(json, "srv1", "true");
      assert.notEqual(cli.code, 0);
      assert.match(cli.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    } finally {
      await f().setFault("srv1", "host-key-changed", false);
    }
    assert.equal((await exec1(json, "srv1", "echo ok")).stdout, "ok\n");
  });

  it("serves the control protocol and refuses bad requests", async function () {
    const sock = json.controlSocket;
    assert.deepEqual(await controlRequest(sock, "GET", "/fleet"), json);
    assert.deepEqual(await controlRequest(sock, "PUT", "/hosts/srv2/faults", { fault: "degraded", on: true }), { faults: ["degraded"] });
    assert.deepEqual(await controlRequest(sock, "GET", "/hosts/srv2/faults"), { faults: ["degraded"] });
    assert.deepEqual(await controlRequest(sock, "PUT", "/hosts/srv2/faults", { fault: "degraded", on: false }), { faults: [] });
    await assert.rejects(controlRequest(sock, "PUT", "/hosts/srv2/faults", { fault: "explodes", on: true }), /400/);
    await assert.rejects(controlRequest(sock, "GET", "/hosts/nope/faults"), /404/);
    await assert.rejects(controlRequest(sock, "POST", "/hosts/srv2/events", { kind: "party" }), /400/);
    assert.equal(await controlRequest(sock, "POST", "/hosts/srv2/events", { kind: "activated", detail: { action: "test" } }), undefined);
    const h = await connect(json, "srv2");
    const dropped = assert.rejects(h.exec("sleep 20"), HostConnectionError);
    await new Promise((r) => setTimeout(r, 200));
    await controlRequest(sock, "POST", "/hosts/srv2/drop-sessions", {});
    await dropped;
    await h.close();
  });

  it("keeps a timeline of sessions, builds, reboots, readiness, cordons and faults, with timestamps", function () {
    const all = events();
    const kinds = new Set(all.map((e) => e.kind));
    for (const k of ["ssh-session", "build-started", "build-finished", "reboot-started", "down", "up", "ready", "not-ready", "cordon", "uncordon", "eviction", "fault", "activated"] as const) {
      assert.ok(kinds.has(k), `the timeline has a ${k} event`);
    }
    for (let i = 1; i < all.length; i++) assert.ok(all[i].t >= all[i - 1].t, "timestamps never go back");
    assert.ok(all.every((e) => NAMES.includes(e.host) && Number.isInteger(e.t) && e.t > 1.6e12));
    assert.deepEqual(readTimelineFile(json.timeline), all, "timeline.jsonl holds the same events");
    const session = all.find((e) => e.kind === "ssh-session");
    assert.equal(session?.detail?.user, "root");
  });

  it("stops and leaves nothing behind: namespaces, interfaces, mounts, sshd processes, mountpoints", async function () {
    const running = f();
    fleet = undefined;
    const t0 = Date.now();
    await running.stop();
    console.log(`      (stopped in ${Date.now() - t0} ms)`);
    assert.deepEqual(await leftoversOf(res, mountpointsBefore), []);
    assert.ok(!fs.existsSync(path.join(stateDir, "resources.json")));
    assert.ok(!fs.existsSync(json.controlSocket));
    await running.stop();
  });
});
