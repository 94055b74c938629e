/**
 * The NixosHost provider's create/update/read/delete against the simulated fleet: real sshd,
 * real nix-instantiate behind nixos-rebuild, the real Kubernetes control plane with simulated kubelets.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { HostSpec } from "../../lib/rollout/spec";
import * as impl from "../../providers/impl";
import type { HostProps } from "../../providers/props";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent, TimelineKind } from "../../sim/types";
import { exec1 } from "./helpers/fleet-client";
import { assertNeverTwoDisrupted, captureConsole, hostStoreContains, inventoryFor, planForFleet, rollOutThrough } from "./helpers/provider-harness";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const TOKEN = "k3s-join-token-9f8e7d-never-in-nix";

/** Polls `f` every 100 ms until it holds or `ms` pass. */
async function waitFor(f: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (f()) return true;
  return f();
}

describe("NixosHost provider against the simulated fleet", function () {
  this.timeout(240_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  const state = new Map<string, HostProps>();

  /** The planned HostSpecs of an inventory edited by `edit`. */
  function plan(edit: (inv: ReturnType<typeof inventoryFor>) => void = () => undefined, token = TOKEN): Map<string, HostSpec> {
    const inv = inventoryFor();
    edit(inv);
    return new Map(planForFleet(inv, fj, { k3sToken: token }).map((s) => [s.name, s]));
  }
  const events = (since: number, host?: string): TimelineEvent[] =>
    fleet.timeline().filter((e) => e.t >= since && (!host || e.host === host));
  const kinds = (since: number, host: string) => events(since, host).map((e) => e.kind);
  const run = (name: string, command: string) => exec1(fj, name, command);

  const rollOut = (spec: HostSpec) => rollOutThrough(state, spec);

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-provider-"));
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
  });

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("rolls every host out in plan order, one disrupted at a time", async () => {
    const since = Date.now();
    const specs = plan();
    assert.deepEqual([...specs.keys()], ["srv1", "srv2", "srv3"]);
    for (const spec of specs.values()) {
      const { props, lines } = await rollOut(spec);
      assert.ok(lines.some((l) => l.startsWith(`rebuilding ${spec.name}`)), lines.join("\n"));
      assert.ok(props.generation! >= 2, `generation ${props.generation}`);
      const live = await run(spec.name, "readlink -f /run/current-system");
      assert.equal(props.systemPath, live.stdout.trim());
      const conf = await run(spec.name, "cat /etc/nixos/configuration.nix");
      assert.equal(conf.stdout, spec.files["configuration.nix"]);
      assert.ok(kinds(since, spec.name).includes("build-finished"));
    }
    assertNeverTwoDisrupted(events(since));
  });

  it("does nothing disruptive on an update without changes", async () => {
    const since = Date.now();
    const spec = plan().get("srv2")!;
    const before = state.get("srv2")!;
    const { props } = await rollOut(spec);
    assert.equal(props.generation, before.generation);
    assert.equal(props.systemPath, before.systemPath);
    assert.equal(props.rebooted, false);
    assert.deepEqual(kinds(since, "srv2").filter((k) => ["cordon", "reboot-started", "down"].includes(k)), []);
  });

  it("activates a change live when no reboot is needed, and reboots behind a drain when the kernel parameters change", async () => {
    let since = Date.now();
    const live = plan((inv) => (inv.hosts[1].nix = { settings: { environment: { variables: { FLEET_TEST: "1" } } } })).get("srv2")!;
    const a = await rollOut(live);
    assert.equal(a.props.rebooted, false, a.props.rebootReason);
    assert.match(a.props.rebootReason!, /activated live/);
    assert.deepEqual(kinds(since, "srv2").filter((k) => k === "cordon" || k === "down"), []);

    since = Date.now();
    const bootId = a.props.bootId;
    const params = plan((inv) => (inv.hosts[1].nix = { settings: { boot: { kernelParams: ["mitigations=off"] } } })).get("srv2")!;
    const b = await rollOut(params);
    assert.equal(b.props.rebooted, true);
    assert.match(b.props.rebootReason!, /kernel-params changed/);
    assert.notEqual(b.props.bootId, bootId);
    const order = kinds(since, "srv2").filter((k) => ["cordon", "eviction", "reboot-started", "down", "up", "ready", "uncordon"].includes(k));
    const firstOf = (k: TimelineKind) => order.indexOf(k);
    assert.ok(firstOf("cordon") >= 0 && firstOf("cordon") < firstOf("reboot-started"), order.join(","));
    assert.ok(firstOf("reboot-started") < firstOf("up") && firstOf("up") < firstOf("uncordon"), order.join(","));
    assert.ok(b.lines.some((l) => l === "draining srv2"));
    assert.ok(b.lines.some((l) => l === "uncordoned srv2"));
    const booted = await run("srv2", "readlink -f /run/booted-system");
    assert.equal(booted.stdout.trim(), b.props.systemPath);
  });

  it("puts the previous files and secret files back when the build fails and changes nothing else", async () => {
    const since = Date.now();
    const before = state.get("srv3")!;
    const oldConf = (await run("srv3", "cat /etc/nixos/fleet/host.nix")).stdout;
    await fleet.setFault("srv3", "build-fails", true);
    try {
      // A rotated join token comes with the change: its secret file must not outlive the failed build.
      const spec = plan((inv) => (inv.hosts[2].nix = { settings: { environment: { variables: { BROKEN: "yes" } } } }), "rotated-token").get("srv3")!;
      await assert.rejects(rollOut(spec), (e: Error) => {
        assert.match(e.message, /^srv3: build failed:/);
        assert.match(e.message, /nothing was changed on srv3: the previous files under \/etc\/nixos and the secret files were put back/);
        assert.match(e.message, /nixos-rebuild build/);
        assert.match(e.message, /failed with exit code 1/);
        return true;
      });
    } finally {
      await fleet.setFault("srv3", "build-fails", false);
    }
    state.set("srv3", before);
    assert.equal((await run("srv3", "cat /etc/nixos/fleet/host.nix")).stdout, oldConf);
    assert.equal((await run("srv3", "cat /var/lib/nixos-fleet/secrets/k3s-token")).stdout, TOKEN);
    assert.equal((await run("srv3", "readlink -f /run/current-system")).stdout.trim(), before.systemPath);
    assert.equal((await run("srv3", "readlink -f /nix/var/nix/profiles/system")).stdout.trim(), before.systemPath);
    assert.ok(!kinds(since, "srv3").includes("reboot-started"));
  });

  it("fails with Nix's own error when a user module does not parse, and restores the files", async () => {
    const before = state.get("srv3")!;
    const spec = plan((inv) => (inv.hosts[2].nix = { imports: ["test/fixtures/broken-syntax.nix"] })).get("srv3")!;
    await assert.rejects(rollOut(spec), (e: Error) => {
      assert.match(e.message, /srv3: build failed/);
      assert.match(e.message, /syntax error/);
      return true;
    });
    state.set("srv3", before);
    const ls = await run("srv3", "ls /etc/nixos/fleet/user 2>/dev/null | wc -l");
    assert.equal(ls.stdout.trim(), "0");
  });

  it("keeps secrets out of the rendered Nix and out of the host's store", async () => {
    for (const spec of plan().values()) {
      for (const [name, text] of Object.entries(spec.files)) assert.ok(!text.includes(TOKEN), `${spec.name}:${name} holds the token`);
      assert.equal(await hostStoreContains(stateDir, spec.name, TOKEN), false, `the token is in ${spec.name}'s /nix/store`);
      const stat = await run(spec.name, "stat -c '%a %U' /var/lib/nixos-fleet/secrets/k3s-token && cat /var/lib/nixos-fleet/secrets/k3s-token");
      assert.equal(stat.stdout, `600 root\n${TOKEN}`);
    }
  });

  it("refuses a host that presents another host key, before touching it", async () => {
    const since = Date.now();
    const wrong = { ...plan().get("srv2")!, hostKey: fj.hosts[0].hostKey };
    await assert.rejects(impl.update("srv2", state.get("srv2")!, wrong as HostProps), (e: Error) => {
      assert.match(e.message, /srv2: connect failed: .*does not match the pinned key/s);
      return true;
    });
    await fleet.setFault("srv3", "host-key-changed", true);
    try {
      const changed = plan((inv) => (inv.hosts[2].nix = { settings: { environment: { variables: { KEY_TEST: "1" } } } })).get("srv3")!;
      await assert.rejects(rollOut(changed), /srv3: connect failed: .*does not match the pinned key/s);
    } finally {
      await fleet.setFault("srv3", "host-key-changed", false);
    }
    assert.deepEqual(events(since).filter((e) => e.kind === "build-started"), []);
  });

  it("gives up a drain that a PodDisruptionBudget blocks at its deadline: uncordoned, not rebooted, nothing activated", async () => {
    const since = Date.now();
    const before = state.get("srv3")!;
    const oldConf = (await run("srv3", "cat /etc/nixos/fleet/host.nix")).stdout;
    await fleet.setFault("srv3", "pdb-blocks", true);
    try {
      const spec = plan((inv) => {
        inv.timeouts = { ...inv.timeouts, drainSeconds: 3 };
        inv.hosts[2].nix = { settings: { boot: { kernelParams: ["pdb=test"] } } };
      }).get("srv3")!;
      await assert.rejects(rollOut(spec), (e: Error) => {
        assert.match(e.message, /^srv3: drain failed: gave up after 3s waiting for pods on srv3 to be evicted/);
        assert.match(e.message, /pinned-srv3/);
        assert.match(e.message, /disruption budget/);
        assert.match(e.message, /nothing was changed on srv3/);
        return true;
      });
    } finally {
      await fleet.setFault("srv3", "pdb-blocks", false);
    }
    // The drain comes before any activation: the new system is neither live nor the boot default.
    assert.equal((await run("srv3", "readlink -f /run/current-system")).stdout.trim(), before.systemPath);
    assert.equal((await run("srv3", "readlink -f /nix/var/nix/profiles/system")).stdout.trim(), before.systemPath);
    assert.equal((await run("srv3", "cat /etc/nixos/fleet/host.nix")).stdout, oldConf);
    assert.ok(!events(since, "srv3").some((e) => e.kind === "activated"), "nothing was activated");
    const k = kinds(since, "srv3");
    assert.ok(k.includes("cordon") && k.includes("uncordon"), k.join(","));
    assert.ok(!k.includes("reboot-started"));
  });

  it("rolls a host back when its kubelet never turns Ready after the reboot", async () => {
    const since = Date.now();
    const before = state.get("srv2")!;
    await fleet.setFault("srv2", "kubelet-never-ready", true);
    try {
      const spec = plan((inv) => {
        inv.timeouts = { ...inv.timeouts, readySeconds: 4 };
        inv.hosts[1].nix = { settings: { boot: { kernelParams: ["breaks-kubelet=1"] } } };
      }).get("srv2")!;
      await assert.rejects(rollOut(spec), (e: Error) => {
        assert.match(e.message, /^srv2: ready failed: gave up after 4s waiting for Node srv2 to be Ready/);
        assert.match(e.message, /rolled back: srv2 runs .* again/);
        return true;
      });
    } finally {
      await fleet.setFault("srv2", "kubelet-never-ready", false);
    }
    state.set("srv2", before);
    assert.equal((await run("srv2", "readlink -f /run/booted-system")).stdout.trim(), before.systemPath);
    const k = kinds(since, "srv2");
    assert.equal(k.filter((x) => x === "reboot-started").length, 2, k.join(","));
    assert.equal(k[k.length - 1] === "uncordon" || k.lastIndexOf("uncordon") > k.lastIndexOf("cordon"), true, k.join(","));
    assert.equal(fs.readFileSync(path.join(stateDir, "hosts/srv2/fs/etc-nixos/fleet/host.nix"), "utf8"), before.files["fleet/host.nix"]);
  });

  it("drains again before rebooting back when a gate fails after the reboot", async () => {
    const since = Date.now();
    const before = state.get("srv2")!;
    const spec = plan((inv) => {
      inv.timeouts = { ...inv.timeouts, healthSeconds: 2 };
      // Passes unless the booted system carries the marker parameter.
      inv.health = { nodesReady: true, commands: [{ name: "marker", command: "cat /run/booted-system/kernel-params", passWhen: ["^(?![\\s\\S]*gate=bad)"] }] };
      inv.hosts[1].nix = { settings: { boot: { kernelParams: ["gate=bad"] } } };
    }).get("srv2")!;
    let lines: string[] = [];
    await assert.rejects(rollOut(spec), (e: Error) => {
      assert.match(e.message, /^srv2: health failed: gate "marker" did not pass/);
      assert.match(e.message, /rolled back: srv2 runs .* again/);
      lines = e.message.split("\n");
      return true;
    });
    state.set("srv2", before);
    assert.equal(lines.filter((l) => l === "draining srv2").length, 2, lines.join("\n"));
    const k = kinds(since, "srv2").filter((x) => x === "cordon" || x === "uncordon" || x === "reboot-started");
    assert.deepEqual(k, ["cordon", "reboot-started", "uncordon", "cordon", "reboot-started", "uncordon"]);
    assert.equal((await run("srv2", "readlink -f /run/booted-system")).stdout.trim(), before.systemPath);
  });

  it("rolls a host back when systemd comes back degraded after the reboot", async () => {
    const since = Date.now();
    const before = state.get("srv1")!;
    await fleet.setFault("srv1", "degraded", true);
    try {
      const spec = plan((inv) => (inv.hosts[0].nix = { settings: { boot: { kernelParams: ["breaks-a-unit=1"] } } })).get("srv1")!;
      await assert.rejects(rollOut(spec), (e: Error) => {
        assert.match(e.message, /^srv1: settle failed: systemd reports degraded; failed units:/);
        assert.match(e.message, /rolled back: srv1 runs .* again/);
        return true;
      });
    } finally {
      await fleet.setFault("srv1", "degraded", false);
    }
    state.set("srv1", before);
    assert.equal((await run("srv1", "readlink -f /run/booted-system")).stdout.trim(), before.systemPath);
    assert.equal((await run("srv1", "systemctl is-system-running")).stdout.trim(), "running");
    assert.equal(kinds(since, "srv1").filter((k) => k === "reboot-started").length, 2);
  });

  it("follows nixos-rebuild, which goes on detached on the host, when the SSH connection drops in the middle of it", async () => {
    const since = Date.now();
    await fleet.setFault("srv1", "drop-ssh-during-rebuild", true);
    let clear: NodeJS.Timeout | undefined;
    try {
      // The fault drops the first session that rebuilds; clear it once that happened.
      clear = setInterval(() => {
        if (events(since, "srv1").some((e) => e.kind === "build-started")) void fleet.setFault("srv1", "drop-ssh-during-rebuild", false);
      }, 20);
      const spec = plan((inv) => (inv.hosts[0].nix = { settings: { environment: { variables: { AFTER_DROP: "1" } } } })).get("srv1")!;
      const { props, lines } = await rollOut(spec);
      assert.ok(lines.some((l) => /connection dropped during nixos-rebuild; reconnecting to follow the build/.test(l)), lines.join("\n"));
      assert.equal(props.systemPath, (await run("srv1", "readlink -f /run/current-system")).stdout.trim());
    } finally {
      if (clear) clearInterval(clear);
      await fleet.setFault("srv1", "drop-ssh-during-rebuild", false);
    }
    // One build: the dropped session did not kill it, and no second build ran beside it.
    assert.equal(events(since, "srv1").filter((e) => e.kind === "build-started").length, 1);
  });

  it("stops with a clear error when a host never comes back from its reboot", async () => {
    const since = Date.now();
    await fleet.setFault("srv3", "never-returns", true);
    try {
      const spec = plan((inv) => {
        inv.timeouts = { ...inv.timeouts, shutdownSeconds: 1, bootSeconds: 2, connectSeconds: 1, confirmSeconds: 2 };
        inv.hosts[2].nix = { settings: { boot: { kernelParams: ["never=1"] } } };
      }).get("srv3")!;
      await assert.rejects(rollOut(spec), (e: Error) => {
        // 1 + 2 s to come back, 2 s of its guard, then 1 + 2 s more: the first boot reached may be the guard's return.
        assert.match(e.message, /^srv3: boot failed: gave up after 8s waiting for srv3 to come back on a new boot/);
        assert.match(e.message, /the host needs attention by hand; it is still cordoned/);
        return true;
      });
    } finally {
      await fleet.setFault("srv3", "never-returns", false);
    }
    const up = await waitFor(() => events(since, "srv3").some((e) => e.kind === "up"), 10_000);
    assert.ok(up, "srv3 boots once the fault is cleared");
    // The failed rollout could not unlock the unreachable host. Once the process that held the
    // lock is gone (here: a pid that does not exist on this machine), the next rollout takes it over.
    const held = await run("srv3", "cat /var/lib/nixos-fleet/lock/owner");
    assert.match(held.stdout, new RegExp(`^pid=${process.pid}$`, "m"));
    await run("srv3", `sed -i 's/^pid=.*/pid=4194303/' /var/lib/nixos-fleet/lock/owner`);
    const again = plan((inv) => (inv.hosts[2].nix = { settings: { boot: { kernelParams: ["never=1"] } } })).get("srv3")!;
    const { lines } = await rollOut(again);
    assert.ok(lines.some((l) => /^srv3: taking over the lock of the rollout by pid 4194303 .*: that process no longer runs on this machine/.test(l)), lines.join("\n"));
  });

  it("shows a hand edit of /etc/nixos on refresh", async () => {
    await run("srv1", "echo '# edited by hand' >> /etc/nixos/configuration.nix");
    const props = state.get("srv1")!;
    const r = await impl.read("srv1", props);
    const files = (r.props as HostProps).files;
    assert.match(files["configuration.nix"], /# edited by hand\n$/);
    assert.notEqual(files["configuration.nix"], props.files["configuration.nix"]);
    const d = await impl.diff("srv1", r.props as HostProps, plan().get("srv1") as HostProps);
    assert.equal(d.changes, true);
  });

  it("drains and deletes the Node of a host removed from the fleet, leaving the machine as it is", async () => {
    const since = Date.now();
    const props = state.get("srv3")!;
    const running = (await run("srv3", "readlink -f /run/current-system")).stdout.trim();
    const { lines } = await captureConsole(() => impl.remove("srv3", props));
    assert.ok(lines.some((l) => /Node srv3 deleted/.test(l)), lines.join("\n"));
    assert.ok(kinds(since, "srv3").includes("node-deleted"));
    const still = await run("srv3", "test -f /etc/nixos/configuration.nix && readlink -f /run/current-system");
    assert.equal(still.stdout.trim(), running);
  });
});
