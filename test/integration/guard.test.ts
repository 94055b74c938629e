/**
 * A configuration that cuts the host off reverts itself (lib/nixos/guard.ts): against the
 * simulated fleet, whose sshd follows the activated configuration (a refused root login, another
 * port) and whose boot starts the configuration's own services (nix/guard.nix's boot guard).
 * Real sshd, real nix-instantiate, real host-side shell for the guard's scripts.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kubeCluster } from "../../lib/cluster/kube";
import { armScript, disarmScript } from "../../lib/nixos/guard";
import type { HostSpec } from "../../lib/rollout/spec";
import * as impl from "../../providers/impl";
import type { HostProps } from "../../providers/props";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings } from "../../sim/types";
import { exec1 } from "./helpers/fleet-client";
import { captureConsole, inventoryFor, planForFleet } from "./helpers/provider-harness";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const CONFIRM_SECONDS = 8;

describe("a configuration that cuts the host off reverts itself (simulated fleet)", function () {
  this.timeout(240_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let props: HostProps;

  function plan(edit: (inv: ReturnType<typeof inventoryFor>) => void = () => undefined): HostSpec {
    const inv = inventoryFor();
    inv.timeouts = { ...inv.timeouts, confirmSeconds: CONFIRM_SECONDS };
    edit(inv);
    return planForFleet(inv, fj, { k3sToken: "token" }).find((s) => s.name === "srv2")!;
  }
  const sh = async (command: string) => {
    const r = await exec1(fj, "srv2", command);
    assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const systems = async () => ({
    current: await sh("readlink -f /run/current-system"),
    booted: await sh("readlink -f /run/booted-system"),
    profile: await sh("readlink -f /nix/var/nix/profiles/system"),
  });
  /** Runs an update of srv2 through the provider; resolves with the error message, or "" when it succeeded. */
  async function rollOut(spec: HostSpec): Promise<{ message: string; lines: string[] }> {
    const lines: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    try {
      const r = await impl.update("srv2", props, spec as HostProps);
      props = r.outs as HostProps;
      return { message: "", lines };
    } catch (error) {
      return { message: error instanceof Error ? error.message : String(error), lines };
    } finally {
      console.log = original;
    }
  }
  const events = (since: number, kind: string) => fleet.timeline().filter((e) => e.t >= since && e.host === "srv2" && e.kind === kind);

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-guard-"));
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
    const { result } = await captureConsole(() => impl.create(plan() as HostProps));
    props = result.outs as HostProps;
  });

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("confirms a live change over a new connection: the guard's timer is stopped and nothing reverts after its deadline", async () => {
    const { message, lines } = await rollOut(plan((inv) => (inv.hosts[1].nix = { settings: { environment: { variables: { GUARDED: "live" } } } })));
    assert.equal(message, "");
    assert.ok(lines.some((l) => /^srv2: guard armed: unless a new SSH connection confirms \/nix\/store\/\S+ within 8s/.test(l)), lines.join("\n"));
    assert.ok(lines.includes("srv2: reached over a new SSH connection; the new configuration is confirmed"), lines.join("\n"));
    const now = await systems();
    assert.equal(now.current, props.systemPath);
    assert.equal(await sh("systemctl is-active nixos-fleet-guard.timer || true"), "inactive");
    await new Promise((r) => setTimeout(r, (CONFIRM_SECONDS + 2) * 1000));
    assert.deepEqual(await systems(), now, "the confirmed system stays after the guard's deadline");
  });

  it("a live switch that refuses root's login: the guard switches back to the previous system and the rollout says so", async () => {
    const good = await systems();
    const oldHostNix = await sh("cat /etc/nixos/fleet/host.nix");
    const since = Date.now();
    const { message } = await rollOut(plan((inv) => (inv.hosts[1].nix = { settings: { services: { openssh: { settings: { PermitRootLogin: "no" } } } } })));
    assert.match(message, /^srv2: confirm failed: the new configuration cut srv2 off: no new SSH connection succeeded within 6s of activating \/nix\/store\/\S+/);
    assert.match(message, /authentication as root failed/);
    assert.match(message, new RegExp(`its guard returned it to ${good.current}\\n`));
    assert.match(message, new RegExp(`rolled back: srv2 runs ${good.current} again \\(generation \\d+\\), as its boot default too; healthy`));
    assert.match(message, /what to do: look at what the change does to sshd/);
    // The host is reachable again, on the previous system, with the previous files; it did not reboot.
    const after = await systems();
    assert.deepEqual({ current: after.current, booted: after.booted, profile: after.profile }, good);
    assert.equal(await sh("cat /etc/nixos/fleet/host.nix"), oldHostNix);
    assert.deepEqual(events(since, "reboot-started"), []);
    assert.match(await sh("journalctl -u nixos-fleet-guard.service -o cat --no-pager"), new RegExp(`not confirmed within 8s: returning to ${good.current}`));
    // The guard's marker was read with the report: the next run finds nothing to report or confirm.
    assert.equal(await sh("ls -A /var/lib/nixos-fleet/guard"), "");
  });

  it("a reboot into a system whose sshd moved to another port: the boot guard returns the host and reboots it", async () => {
    const good = await systems();
    const since = Date.now();
    const { message } = await rollOut(
      plan((inv) => (inv.hosts[1].nix = { settings: { boot: { kernelParams: ["guarded=1"] }, services: { openssh: { ports: [2222] } } } })),
    );
    assert.match(message, /^srv2: confirm failed: the new configuration cut srv2 off: no new SSH connection succeeded within 6s of booting \/nix\/store\/\S+/);
    assert.match(message, new RegExp(`its guard returned it to ${good.current} and rebooted into it\\n`));
    assert.match(message, new RegExp(`rolled back: srv2 runs ${good.current} again .*srv2 was uncordoned; healthy`));
    const ups = events(since, "up").map((e) => e.detail?.system as string);
    assert.equal(ups.length, 2, `booted ${ups.join(", ")}`);
    assert.notEqual(ups[0], good.current, "first into the new system");
    assert.equal(ups[1], good.current, "then the guard's return");
    assert.deepEqual(await systems(), { ...good, booted: good.current });
    const node = await kubeCluster(fs.readFileSync(fj.kubeconfig, "utf8")).getNode("srv2");
    assert.equal(node?.unschedulable, false);
    assert.equal(node?.ready, true);
  });

  it("a boot guard still waiting leaves alone the guard the next rollout armed after confirming it", async () => {
    const GUARD_SECONDS = 6;
    const bootDefault = await sh("readlink -f /nix/var/nix/profiles/system");
    const generations = (await sh("for l in /nix/var/nix/profiles/system-*-link; do readlink -f $l; done")).split("\n");
    const otherSystem = generations.find((g) => g !== bootDefault);
    assert.ok(otherSystem, `a system other than ${bootDefault} among ${generations.join(", ")}`);
    await sh(armScript({ kind: "boot", system: bootDefault, previous: bootDefault, seconds: GUARD_SECONDS }));
    const since = Date.now();
    fleet.reboot("srv2");
    // This boot's entries only: the unit's earlier boots, in the tests before, waited and confirmed too.
    const journal = () => exec1(fj, "srv2", "journalctl -b -u nixos-fleet-boot-guard.service -o cat --no-pager").then((r) => (r.code === 0 ? r.stdout : ""));
    for (let end = Date.now() + 30_000; !(events(since, "up").length > 0 && /waiting \d+s for a rollout/.test(await journal())); ) {
      assert.ok(Date.now() < end, `the boot guard of ${bootDefault} did not start waiting within 30s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // What the next rollout does on this boot: confirm it, then arm the guard of the boot after it.
    assert.equal(await sh(disarmScript()), "guard: disarmed");
    await sh(armScript({ kind: "boot", system: otherSystem, previous: bootDefault, seconds: 60 }));
    for (let end = Date.now() + (GUARD_SECONDS + 10) * 1000; !/^confirmed$/m.test(await journal()); ) {
      assert.ok(Date.now() < end, `the boot guard did not end its wait: ${await journal()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await sh("cat /var/lib/nixos-fleet/guard/boot"), `system=${otherSystem}\nprevious=${bootDefault}\nseconds=60`);
    assert.equal(await sh("ls /var/lib/nixos-fleet/guard"), "boot", "the new arming is the only file: nothing fired");
    assert.equal(events(since, "reboot-started").length, 1, "only the reboot of this test");
    assert.equal(await sh("readlink -f /nix/var/nix/profiles/system"), bootDefault);
    await sh(`rm -f /var/lib/nixos-fleet/guard/boot`);
  });

  it("confirms a guard an earlier rollout left armed, from the next rollout's new connection", async () => {
    const good = await systems();
    // What a rollout killed between its activation and its confirmation leaves: an armed live guard.
    await sh(armScript({ kind: "live", system: good.current, previous: good.current, goal: "switch", seconds: 120 }));
    assert.equal(await sh("systemctl is-active nixos-fleet-guard.timer"), "active");
    const { message, lines } = await rollOut(plan((inv) => (inv.hosts[1].nix = { settings: { environment: { variables: { GUARDED: "again" } } } })));
    assert.equal(message, "");
    assert.ok(lines.includes("srv2: an earlier rollout left its guard armed; this new SSH connection confirms the configuration the host runs"), lines.join("\n"));
    assert.equal(await sh("systemctl is-active nixos-fleet-guard.timer || true"), "inactive");
  });

  it("arms a live guard when a timer an earlier rollout could not stop still holds the guard's unit name", async () => {
    const good = await systems();
    // An earlier confirmation renamed the armed file but did not get to stop the timer.
    await sh(armScript({ kind: "live", system: good.current, previous: good.current, goal: "switch", seconds: 120 }));
    await sh("rm -f /var/lib/nixos-fleet/guard/live");
    assert.equal(await sh("systemctl is-active nixos-fleet-guard.timer"), "active");
    const { message, lines } = await rollOut(plan((inv) => (inv.hosts[1].nix = { settings: { environment: { variables: { GUARDED: "over-a-stale-timer" } } } })));
    assert.equal(message, "");
    assert.ok(lines.some((l) => /^srv2: guard armed: unless a new SSH connection confirms/.test(l)), lines.join("\n"));
    assert.ok(lines.includes("srv2: reached over a new SSH connection; the new configuration is confirmed"), lines.join("\n"));
    assert.equal(await sh("systemctl is-active nixos-fleet-guard.timer || true"), "inactive");
    assert.equal(await sh("cat /var/lib/nixos-fleet/guard/live.confirmed | head -1"), `system=${(await systems()).current}`);
  });
});
