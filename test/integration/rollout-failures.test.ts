/**
 * Failures that change the host and must leave it on a known-good system, told truthfully:
 * an activation that fails (issue behaviour 1), a rollback from a pending generation that
 * never booted (behaviour 2), a live rollback whose boot default must follow (behaviour 4),
 * and a configuration that takes k3s off a worker.
 * Against the simulated fleet: real sshd, real nix-instantiate, the real Kubernetes control
 * plane with the fleet's simulated kubelets.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { HostSpec } from "../../lib/rollout/spec";
import * as impl from "../../providers/impl";
import type { HostProps } from "../../providers/props";
import { kubeCluster } from "../../lib/cluster/kube";
import { SimFleet } from "../../sim/fleet";
import { hostStorePath } from "../../sim/hosttools/boot-state";
import type { FleetJson, SimTimings } from "../../sim/types";
import { exec1 } from "./helpers/fleet-client";
import { captureConsole, inventoryFor, planForFleet } from "./helpers/provider-harness";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };

/** The default boot loader entry's system (systemd-boot layout under /boot). */
const BOOT_DEFAULT = [
  `d=$(sed -n 's/^default[[:space:]]*//p' /boot/loader/loader.conf)`,
  `sed -n 's/^options.*init=\\([^ ]*\\)\\/init.*/\\1/p' "/boot/loader/entries/\${d%.conf}.conf"`,
].join("; ");

describe("rollout failures end on a known-good system (simulated fleet)", function () {
  this.timeout(240_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let props: HostProps;

  function plan(edit: (inv: ReturnType<typeof inventoryFor>) => void): HostSpec {
    const inv = inventoryFor();
    edit(inv);
    return planForFleet(inv, fj, { k3sToken: "token" }).find((s) => s.name === "srv2")!;
  }
  const sh = async (command: string) => {
    const r = await exec1(fj, "srv2", command);
    assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** What srv2 runs, booted, has as profile and as the loader's default entry. */
  const systems = async () => ({
    current: await sh("readlink -f /run/current-system"),
    booted: await sh("readlink -f /run/booted-system"),
    profile: await sh("readlink -f /nix/var/nix/profiles/system"),
    bootDefault: await sh(BOOT_DEFAULT),
  });
  const on = (system: string) => ({ current: system, booted: system, profile: system, bootDefault: system });
  const update = (spec: HostSpec) => captureConsole(() => impl.update("srv2", props, spec as HostProps));

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-failures-"));
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
    const { result } = await captureConsole(() => impl.create(plan(() => undefined) as HostProps));
    props = result.outs as HostProps;
    assert.equal(await sh("readlink -f /run/current-system"), props.systemPath);
  });

  /** Each test starts from what the host runs and booted now, whatever an earlier test left. */
  async function start(): Promise<{ good: string; booted: string }> {
    const s = await systems();
    return { good: s.current, booted: s.booted };
  }

  /**
   * Makes a pending generation by hand, as `nixos-rebuild boot` of another configuration does:
   * the boot default moves, nothing is activated. Returns its system.
   */
  async function pendingGeneration(nixBody: string): Promise<string> {
    await sh(
      `printf '{ ... }: { imports = [ /etc/nixos/configuration.nix ]; ${nixBody} }\\n' > /var/lib/pending.nix && NIXOS_CONFIG=/var/lib/pending.nix nixos-rebuild boot >/dev/null 2>&1`,
    );
    return sh("readlink -f /nix/var/nix/profiles/system");
  }

  /** Runs the rollout, expecting it to fail; returns the error message. */
  async function failing(spec: HostSpec): Promise<string> {
    let message = "";
    await assert.rejects(update(spec), (e: Error) => {
      message = e.message;
      return true;
    });
    return message;
  }

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("an activation failure rolls the host back to the previous system as current, profile and boot default, and says so (behaviour 1)", async () => {
    const { good, booted } = await start();
    const oldHostNix = await sh("cat /etc/nixos/fleet/host.nix");
    // The fault breaks the systems built from now on: a unit of the new system fails to start.
    await fleet.setFault("srv2", "activation-fails", true);
    let message: string;
    try {
      message = await failing(plan((inv) => (inv.hosts[1].nix = { settings: { environment: { variables: { ACTIVATION: "breaks" } } } })));
    } finally {
      await fleet.setFault("srv2", "activation-fails", false);
    }
    assert.deepEqual(await systems(), { ...on(good), booted });
    assert.equal(await sh("cat /etc/nixos/fleet/host.nix"), oldHostNix);
    assert.equal(await sh("systemctl is-system-running"), "running");
    assert.match(message, /^srv2: activate failed: `switch-to-configuration switch` of \/nix\/store\/\S+ failed/);
    assert.match(message, /\(exit 4\)/);
    assert.match(message, /fleet-app\.service/);
    assert.match(message, new RegExp(`rolled back: srv2 runs ${good} again \\(generation \\d+\\), as its boot default too`));
    assert.doesNotMatch(message, /left as it was/);
  });

  it("a live rollback makes the old system the boot default again, also from a pending generation (behaviour 4)", async () => {
    const { good, booted } = await start();
    const pending = await pendingGeneration(`environment.variables.PENDING = "live";`);
    assert.deepEqual(await systems(), { current: good, booted, profile: pending, bootDefault: pending });
    const spec = plan((inv) => {
      inv.timeouts = { ...inv.timeouts, healthSeconds: 2 };
      // Fails while the running system carries the marker variable: grep finds it and exits 0.
      inv.health = { nodesReady: true, commands: [{ name: "marker", command: "grep -c LIVE_GATE_BAD /run/current-system/etc/nixos-sim/config.json", exitCode: 1, passWhen: ["^0$"] }] };
      inv.hosts[1].nix = { settings: { environment: { variables: { LIVE_GATE_BAD: "1" } } } };
    });
    const since = Date.now();
    const message = await failing(spec);
    assert.deepEqual(await systems(), { ...on(good), booted });
    assert.match(message, /^srv2: health failed: gate "marker" did not pass/);
    assert.match(message, new RegExp(`rolled back: srv2 runs ${good} again .*as its boot default too`));
    assert.ok(!fleet.timeline().some((e) => e.t >= since && e.host === "srv2" && e.kind === "reboot-started"), "a live rollback does not reboot");
  });

  it("from a pending generation that never booted, a rollback returns to the booted system (behaviour 2)", async () => {
    const { good, booted } = await start();
    // Systems built from now on keep their kubelet from turning Ready: the pending generation and the rollout's.
    await fleet.setFault("srv2", "kubelet-never-ready", true);
    try {
      const pending = await pendingGeneration(`boot.kernelParams = [ "pending=1" ];`);
      assert.notEqual(pending, good);
      assert.deepEqual(await systems(), { current: good, booted, profile: pending, bootDefault: pending });
      const since = Date.now();
      const spec = plan((inv) => {
        inv.timeouts = { ...inv.timeouts, readySeconds: 4 };
        inv.hosts[1].nix = { settings: { boot: { kernelParams: ["rollout=2"] } } };
      });
      const message = await failing(spec);
      const bootedSince = fleet.timeline().filter((e) => e.t >= since && e.host === "srv2" && e.kind === "up").map((e) => e.detail?.system);
      assert.ok(!bootedSince.includes(pending), `booted ${bootedSince.join(", ")}`);
      assert.equal(bootedSince[bootedSince.length - 1], good);
      assert.deepEqual(await systems(), on(good));
      assert.match(message, /^srv2: ready failed: gave up after 4s waiting for Node srv2 to be Ready/);
      assert.match(message, new RegExp(`rolled back: srv2 runs ${good} again .*rebooted into it; srv2 was uncordoned; healthy`));
    } finally {
      await fleet.setFault("srv2", "kubelet-never-ready", false);
    }
  });

  it("a configuration that disables k3s on a worker: no kubelet, so the Node never turns Ready on the new boot; the rollback restores a Ready Node, with no fault set", async () => {
    const { good } = await start();
    assert.deepEqual(fleet.hostState("srv2").faults, []);
    const since = Date.now();
    const spec = plan((inv) => {
      inv.timeouts = { ...inv.timeouts, readySeconds: 6 };
      // The kernel parameter makes the change need a reboot; the module turns k3s off (lib.mkForce
      // over the fleet's k3s module), as a host module of a real inventory would.
      inv.hosts[1].nix = { imports: ["test/fixtures/k3s-disabled.nix"], settings: { boot: { kernelParams: ["k3s-off=1"] } } };
    });
    const message = await failing(spec);
    assert.match(message, /^srv2: ready failed: gave up after 6s waiting for Node srv2 to be Ready/);
    assert.match(message, new RegExp(`rolled back: srv2 runs ${good} again .*rebooted into it; srv2 was uncordoned; healthy`));
    const ups = fleet.timeline().filter((e) => e.t >= since && e.host === "srv2" && e.kind === "up");
    assert.equal(ups.length, 2, "booted the new system, then the old one");
    const broken = String(ups[0].detail?.system);
    assert.notEqual(broken, good);
    const config = JSON.parse(fs.readFileSync(path.join(hostStorePath(path.join(fj.stateDir, "hosts", "srv2"), broken), "etc/nixos-sim/config.json"), "utf8")) as { services: { k3s: { enable: boolean } } };
    assert.equal(config.services.k3s.enable, false, "the booted system has k3s off");
    const ready = fleet.timeline().filter((e) => e.t >= since && e.host === "srv2" && e.kind === "ready").map((e) => e.detail?.bootId);
    assert.deepEqual(ready, [ups[1].detail?.bootId], "Ready only on the boot into the old system");
    const node = await kubeCluster(fs.readFileSync(fj.kubeconfig, "utf8")).getNode("srv2");
    assert.deepEqual([node?.ready, node?.bootId, node?.unschedulable], [true, fleet.hostState("srv2").bootId, false]);
    assert.deepEqual(await systems(), on(good));
    assert.deepEqual(fleet.hostState("srv2").faults, [], "no fault flag was involved");
  });
});
