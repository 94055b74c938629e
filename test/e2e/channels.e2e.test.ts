/**
 * End to end with the real Pulumi CLI: a three-host fleet moves to another NixOS channel
 * (inventory nix.channel). Preview shows the channel on every host and touches none; `up` builds
 * every host from the new channel, rolls them out one at a time with a reboot each (the channel's
 * kernel is another), sets each host's own channel once it is healthy and reports each host's
 * kernel and NixOS version before and after; a channel that does
 * not exist stops every build and changes nothing.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { exec1 } from "../integration/helpers/fleet-client";
import { fleetBuildHost, resourceBlock } from "./helpers/preview";
import { hostsNamed, inventoryBase } from "./helpers/inventory";
import { configureForFleet, PulumiStack } from "./helpers/pulumi";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 1500, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const TOKEN = "e2e-join-token-4c1a9e02";
const PROJECT = path.resolve(__dirname, "../../..");
const HOSTS = ["srv1", "srv2", "srv3"];
const NEW = "https://nixos.org/channels/nixos-24.11";
const OLD = "https://nixos.org/channels/nixos-24.05";

/** What disrupts or changes a host. */
const CHANGES = new Set<TimelineEvent["kind"]>(["activated", "cordon", "eviction", "reboot-started", "down"]);

describe("pulumi CLI end to end: moving the fleet to another channel", function () {
  this.timeout(900_000);
  let work: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let stack: PulumiStack;
  const events = (since: number): TimelineEvent[] => fleet.timeline().filter((e) => e.t >= since);
  const sh = async (host: string, command: string) => {
    const r = await exec1(fj, host, command);
    assert.equal(r.code, 0, `${host}: ${command}: ${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  };
  /** What a host runs and builds from: its kernel, its NixOS version and its nixos channel. */
  const facts = async (host: string) => ({ kernel: await sh(host, "uname -r"), version: await sh(host, "nixos-version"), channel: await sh(host, "nix-channel --list") });

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    const version = execFileSync("pulumi", ["version"], { encoding: "utf8" }).trim();
    assert.equal(version, `v${require("@pulumi/pulumi/package.json").version}`, "the Pulumi CLI must match the SDK (bash scripts/setup.sh builds it)");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-e2e-channels-"));
    fleet = await SimFleet.start({ stateDir: path.join(work, "sim"), hosts: HOSTS.length, timings: TIMINGS });
    fj = fleet.fleetJson;
    stack = new PulumiStack(PROJECT, work, "e2echannels", "e2e-passphrase");
    await stack.ok(["stack", "init", "--secrets-provider", "passphrase"]);
    fs.renameSync(path.join(PROJECT, "Pulumi.e2echannels.yaml"), stack.configFile);
    await configureForFleet(stack, { ...inventoryBase(), hosts: hostsNamed(HOSTS) }, fj);
    await stack.ok(["config", "set", "--secret", "--path", "fleet:secrets.k3sToken", TOKEN]);
    await stack.ok(["up", "--yes", "--skip-preview"]);
  });

  after(async function () {
    fs.rmSync(path.join(PROJECT, "Pulumi.e2echannels.yaml"), { force: true });
    await fleet?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("previews the new channel on every host without touching one", async () => {
    await stack.ok(["config", "set", "--path", "fleet:inventory.nix.channel", "nixos-24.11"]);
    const since = Date.now();
    const r = await stack.ok(["preview", "--diff"]);
    for (const name of HOSTS) {
      const parts = { FleetBuild: fleetBuildHost(r.stdout, name), NixosHost: resourceBlock(r.stdout, "NixosHost", name) };
      assert.match(parts.NixosHost, /NixosHost: \(update\)/, `${name}'s NixosHost is not updated:\n${r.stdout}`);
      for (const [type, b] of Object.entries(parts)) {
        assert.match(b, new RegExp(`\\+ channel\\s*: \\{\\s*\\+ upgradeToken: ""\\s*\\+ url\\s*: "${NEW}"`), `${name}'s ${type} does not show the channel:\n${r.stdout}`);
      }
    }
    assert.deepEqual(events(since).filter((e) => e.kind !== "ssh-session"), [], "preview touched a host");
  });

  it("rolls the fleet onto the channel one host at a time, rebooting each into the channel's kernel", async () => {
    const before = new Map<string, Awaited<ReturnType<typeof facts>>>();
    for (const name of HOSTS) {
      before.set(name, await facts(name));
      assert.equal(before.get(name)?.channel, `nixos ${OLD}`, `${name} starts on 24.05`);
    }
    const since = Date.now();
    const r = await stack.ok(["up", "--yes", "--skip-preview"]);
    const timeline = events(since);
    const outputs = JSON.parse((await stack.ok(["stack", "output", "--json"])).stdout) as { fleet: Record<string, { changes: { kernel: { from: string; to: string } } }> };
    for (const name of HOSTS) {
      const now = await facts(name);
      assert.notEqual(now.kernel, before.get(name)?.kernel, `${name} still boots its old kernel`);
      assert.match(now.version, /^24\.11\./, `${name} runs NixOS ${now.version}`);
      assert.equal(now.channel, `nixos ${NEW}`, `${name}'s own channel`);
      assert.match(r.stdout, new RegExp(`${name}: building it \\(nixos-rebuild build -I nixos-config=\\S+\\) from the channel ${NEW}`));
      assert.match(r.stdout, new RegExp(`${name}: nixos channel set to ${NEW} \\(was ${OLD}\\)`));
      // What changed, in the progress and in the stack's outputs.
      assert.ok(r.stdout.includes(`${name}: kernel ${before.get(name)?.kernel} → ${now.kernel}`), `${name} does not report its kernel change:\n${r.stdout}`);
      assert.match(r.stdout, new RegExp(`${name}: NixOS 24\\.05\\.\\S+ → 24\\.11\\.`));
      assert.deepEqual(outputs.fleet[name].changes.kernel, { from: before.get(name)?.kernel, to: now.kernel });
      assert.equal(timeline.filter((e) => e.host === name && e.kind === "reboot-started").length, 1, `${name} rebooted once`);
    }
    // One host at a time: each host's cordon is lifted before the next host's cordon.
    const cordons = timeline.filter((e) => e.kind === "cordon" || e.kind === "uncordon").map((e) => `${e.kind} ${e.host}`);
    assert.deepEqual(cordons, HOSTS.flatMap((h) => [`cordon ${h}`, `uncordon ${h}`]));
  });

  it("stops every build at a channel that does not exist and changes nothing", async () => {
    const before = new Map<string, Awaited<ReturnType<typeof facts>>>();
    for (const name of HOSTS) before.set(name, await facts(name));
    await stack.ok(["config", "set", "--path", "fleet:inventory.nix.channel", "nixos-99.99"]);
    const since = Date.now();
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0, r.output);
    for (const name of HOSTS) {
      assert.match(r.output, new RegExp(`${name}: build failed: [^]*?unable to download 'https://nixos\\.org/channels/nixos-99\\.99/nixexprs\\.tar\\.xz'`), `${name}'s error:\n${r.output}`);
      assert.deepEqual(await facts(name), before.get(name), `${name} changed`);
    }
    assert.deepEqual(events(since).filter((e) => CHANGES.has(e.kind)), [], "a host was changed or disrupted");
    // Back to the channel the fleet runs: nothing to do.
    await stack.ok(["config", "set", "--path", "fleet:inventory.nix.channel", "nixos-24.11"]);
    const again = await stack.ok(["preview", "--diff"]);
    assert.doesNotMatch(again.stdout, /NixosHost: \(update\)/, again.stdout);
  });
});
