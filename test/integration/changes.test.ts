/**
 * What a rollout reports it changed, through the NixosHost provider against the simulated fleet:
 * the kernel, NixOS version and packages of a channel bump with a package added, read with the
 * host's `nix store diff-closures`; nothing for a rollout that changed nothing or failed; a
 * refresh keeps the last report.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type ChangeReport, NO_CHANGES } from "../../lib/rollout/changes";
import type { HostSpec } from "../../lib/rollout/spec";
import * as impl from "../../providers/impl";
import { type HostProps, specOf } from "../../providers/props";
import { loadChannelTable } from "../../sim/hosttools/channel-table";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings } from "../../sim/types";
import { exec1 } from "./helpers/fleet-client";
import { inventoryFor, planForFleet, rollOutThrough } from "./helpers/provider-harness";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const ADD_TCPDUMP = { imports: ["test/fixtures/add-tcpdump.nix"] };
const changeLine = (l: string) => /^srv2: (kernel |NixOS |packages)/.test(l);

describe("what a rollout changed, against the simulated fleet", function () {
  this.timeout(300_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  const state = new Map<string, HostProps>();

  /** The planned HostSpecs of the two-host inventory edited by `edit`. */
  function plan(edit: (inv: ReturnType<typeof inventoryFor>) => void = () => undefined): Map<string, HostSpec> {
    const inv = inventoryFor();
    inv.hosts = inv.hosts.slice(0, 2);
    edit(inv);
    return new Map(planForFleet(inv, fj, { k3sToken: "k3s-join-token-changes" }).map((s) => [s.name, s]));
  }
  const run = (command: string) => exec1(fj, "srv2", command);
  const changesOf = (p: HostProps): ChangeReport => p.changes as ChangeReport;
  /** Rolls the fleet's own configuration out to srv1 and srv2, once; srv2's rollout as the provider returned it. */
  let baseline: Promise<{ props: HostProps; lines: string[] }> | undefined;
  const rollOutBaseline = () =>
    (baseline ??= (async () => {
      const specs = plan();
      await rollOutThrough(state, specs.get("srv1")!);
      return rollOutThrough(state, specs.get("srv2")!);
    })());

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-changes-"));
    fleet = await SimFleet.start({ stateDir, hosts: 2, timings: TIMINGS });
    fj = fleet.fleetJson;
  });

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("the first rollout reports its packages, and no kernel or NixOS version line when they stay", async () => {
    const { props, lines } = await rollOutBaseline();
    const c = changesOf(props);
    assert.equal(c.changed, true);
    assert.equal(c.packagesError, "", lines.join("\n"));
    assert.deepEqual(c.kernel, { from: props.bootedKernel, to: props.bootedKernel });
    assert.equal(c.nixosVersion.from, c.nixosVersion.to);
    assert.match(c.nixosVersion.to, /^\d\d\.\d\d\./);
    const p = c.packages;
    assert.deepEqual(lines.filter(changeLine), [`srv2: packages: ${p.upgraded.length} upgraded, ${p.added.length} added, ${p.removed.length} removed`]);
  });

  it("a channel bump with a package added: kernel, NixOS version and packages, in the lines and the outputs", async () => {
    // A fresh host is on the first revision of its channel; an update fetches the channel's latest.
    const table = loadChannelTable().channels[loadChannelTable().installed];
    const [from, to] = [table.revisions[0], table.revisions[table.revisions.length - 1]];
    const kernel = { from: from.kernels[from.defaultKernel], to: to.kernels[to.defaultKernel] };
    const nixosVersion = { from: `${table.release}${from.suffix}`, to: `${table.release}${to.suffix}` };
    await rollOutBaseline();
    // Someone updated the host's channel: the rollout builds against it, as nixos-rebuild does.
    assert.equal((await run("nix-channel --update nixos")).code, 0);
    const before = (await run("readlink -f /run/current-system")).stdout.trim();
    const { props, lines } = await rollOutThrough(state, plan((inv) => (inv.hosts[1].nix = ADD_TCPDUMP)).get("srv2")!);
    assert.equal(props.rebooted, true, props.rebootReason);
    const c = changesOf(props);
    assert.deepEqual(c.kernel, kernel);
    assert.deepEqual(c.nixosVersion, nixosVersion);
    assert.equal(c.packagesError, "");
    assert.deepEqual(c.packages.added, [{ name: "tcpdump", version: "4.99.4" }]);
    assert.deepEqual(c.packages.removed, []);
    const upgraded = new Map(c.packages.upgraded.map((u) => [u.name, u]));
    assert.deepEqual(upgraded.get("linux"), { name: "linux", ...kernel });
    assert.deepEqual(upgraded.get("initrd-linux"), { name: "initrd-linux", ...kernel });
    assert.deepEqual(lines.filter(changeLine), [
      `srv2: kernel ${kernel.from} → ${kernel.to}`,
      `srv2: NixOS ${nixosVersion.from} → ${nixosVersion.to}`,
      `srv2: packages: ${c.packages.upgraded.length} upgraded, 1 added, 0 removed`,
    ]);
    // The host's own nix says the same, and refuses without the experimental feature.
    const diff = await run(`nix --extra-experimental-features nix-command store diff-closures ${before} /run/current-system`);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, new RegExp(`^linux: ${kernel.from.replace(/\./g, "\\.")} → ${kernel.to.replace(/\./g, "\\.")}`, "m"));
    assert.match(diff.stdout, /^tcpdump: ∅ → 4\.99\.4, \x1b\[31;1m\+\d+\.\d KiB\x1b\[0m$/m);
    const refused = await run(`nix store diff-closures ${before} /run/current-system`);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, "error: experimental Nix feature 'nix-command' is disabled; use '--extra-experimental-features nix-command' to override\n");
  });

  it("a refresh keeps the last rollout's report", async () => {
    await rollOutBaseline();
    const recorded = state.get("srv2")!;
    const { props } = await impl.read("srv2", recorded);
    assert.deepEqual(props.changes, recorded.changes);
    assert.equal(changesOf(props as HostProps).changed, true);
  });

  it("a rollout that leaves the running system as it was reports no change", async () => {
    await rollOutBaseline();
    // What srv2 runs, under another reboot policy: an input that needs a rollout but changes no system.
    const last = specOf(state.get("srv2")!);
    const { props, lines } = await rollOutThrough(state, { ...last, rebootPolicy: last.rebootPolicy === "never" ? "when-needed" : "never" });
    assert.ok(lines.some((l) => l.startsWith("rebuilding srv2")), `the rollout ran:\n${lines.join("\n")}`);
    assert.deepEqual(props.changes, NO_CHANGES);
    assert.deepEqual(lines.filter(changeLine), []);
  });

  it("a failed rollout reports no change", async () => {
    await rollOutBaseline();
    const before = state.get("srv2")!;
    await fleet.setFault("srv2", "build-fails", true);
    try {
      const spec = plan((inv) => (inv.hosts[1].nix = { settings: { environment: { variables: { BROKEN: "yes" } } } })).get("srv2")!;
      await assert.rejects(rollOutThrough(state, spec), (e: Error & { properties?: HostProps }) => {
        assert.match(e.message, /^srv2: build failed:/);
        assert.deepEqual(e.properties?.changes, NO_CHANGES);
        return true;
      });
    } finally {
      await fleet.setFault("srv2", "build-fails", false);
    }
    state.set("srv2", before);
  });
});
