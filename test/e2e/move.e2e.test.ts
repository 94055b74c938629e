/**
 * End to end with the real Pulumi CLI: a project rolled out from one folder is moved to another,
 * and an old checkout whose providers refuse to run is left at the first folder. From the moved
 * project, refresh reads every host, removing a host from the inventory drains and removes its
 * Node, and destroy empties the stack, all with the moved project's code; a project of an older
 * version than the one that wrote the state is refused (refresh, preview) with both versions
 * named, a newer one is not; the flat state 0.1.0 wrote is rewritten in the grouped shape of
 * providers/wire.ts by the next up, without contacting a host.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { BUILD_GROUPS, fromWire, HOST_GROUPS, isWire } from "../../providers/wire";
import { hostsNamed, inventoryBase } from "./helpers/inventory";
import { configureForFleet, PulumiStack } from "./helpers/pulumi";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const TOKEN = "e2e-join-token-93d0e1f4";
const PROJECT = path.resolve(__dirname, "../../..");
const HOSTS = ["srv1", "srv2", "srv3"];
const PASSPHRASE = "e2e-passphrase";

const inventory = (hosts: readonly string[]) => ({
  ...inventoryBase(),
  hosts: hostsNamed(hosts),
});

/** A runnable copy of the project: what `npm ci && npm run build` leaves (the packages are shared, not ours). */
function copyProject(to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of ["Pulumi.yaml", "package.json"]) fs.copyFileSync(path.join(PROJECT, f), path.join(to, f));
  for (const d of ["dist", "nix"]) fs.cpSync(path.join(PROJECT, d), path.join(to, d), { recursive: true });
  fs.symlinkSync(path.join(PROJECT, "node_modules"), path.join(to, "node_modules"));
}

/** Turns a project copy into an old checkout whose provider code records that it ran and fails. */
function poisonProviders(project: string, marker: string): void {
  const refuse = `require("fs").appendFileSync(${JSON.stringify(marker)}, __filename + "\\n");\nthrow new Error("code of the old checkout ran: " + __filename);\n`;
  for (const f of ["impl.js", "buildImpl.js", "loader.js"]) fs.writeFileSync(path.join(project, "dist", "providers", f), refuse);
}

interface Exported {
  readonly deployment: { readonly resources?: ReadonlyArray<{ readonly urn: string; readonly type: string; readonly inputs?: Record<string, unknown>; readonly outputs?: Record<string, unknown> }> };
}

describe("pulumi CLI end to end: a project moved to another folder", function () {
  this.timeout(900_000);
  let work: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let first: string;
  let moved: string;
  let marker: string;
  let stack: PulumiStack;
  let movedStack: PulumiStack;
  const sessions = (since: number, host: string) => fleet.timeline().filter((e: TimelineEvent) => e.t >= since && e.host === host && e.kind === "ssh-session").length;
  const exported = async (s: PulumiStack) => JSON.parse((await s.ok(["stack", "export"])).stdout) as Exported;
  const dynamicResources = async (s: PulumiStack) => ((await exported(s)).deployment.resources ?? []).filter((r) => /^pulumi-nodejs:dynamic.*:Nixos(Host|Build)$/.test(r.type));
  const deletedNodes = (since: number) => fleet.timeline().filter((e: TimelineEvent) => e.t >= since && e.kind === "node-deleted").map((e) => e.host).sort();
  const oldCheckoutRan = () => (fs.existsSync(marker) ? fs.readFileSync(marker, "utf8") : "");
  const setVersion = (version: string) => {
    const file = path.join(moved, "package.json");
    const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...pkg, version }, null, 2));
  };
  const version = (require("../../../package.json") as { version: string }).version;

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    const cli = execFileSync("pulumi", ["version"], { encoding: "utf8" }).trim();
    assert.equal(cli, `v${require("@pulumi/pulumi/package.json").version}`, "the Pulumi CLI must match the SDK (bash scripts/setup.sh builds it)");
    assert.ok(fs.existsSync(path.join(PROJECT, "dist/index.js")), "build first: npm run build");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-e2e-move-"));
    first = path.join(work, "first");
    moved = path.join(work, "elsewhere", "fleet");
    marker = path.join(work, "old-checkout-ran");
    copyProject(first);
    fleet = await SimFleet.start({ stateDir: path.join(work, "sim"), hosts: HOSTS.length, timings: TIMINGS });
    fj = fleet.fleetJson;
    stack = new PulumiStack(first, work, "e2emove", PASSPHRASE);
    await stack.ok(["stack", "init", "--secrets-provider", "passphrase"]);
    // `stack init` writes the stack's salt beside Pulumi.yaml; the config file lives outside both folders.
    fs.renameSync(path.join(first, "Pulumi.e2emove.yaml"), stack.configFile);
    await configureForFleet(stack, inventory(HOSTS), fj);
    await stack.ok(["config", "set", "--secret", "--path", "fleet:secrets.k3sToken", TOKEN]);
  });

  after(async function () {
    await fleet?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("rolls the fleet out from the first folder, and the state names no folder of it", async () => {
    await stack.ok(["up", "--yes", "--skip-preview"]);
    const resources = await dynamicResources(stack);
    assert.equal(resources.length, 2 * HOSTS.length, "a NixosBuild and a NixosHost per host");
    for (const r of resources) {
      const text = [r.inputs?.__provider, r.outputs?.__provider].map(String).join("\n");
      assert.ok(!text.includes(first), `${r.urn}'s provider names ${first}`);
      assert.match(text, new RegExp(`nixos-fleet@${version.replace(/\./g, "\\.")}`), `${r.urn}'s provider records no version`);
    }
  });

  it("refreshes from the moved project, run from a folder inside it, and never from the old checkout left behind", async () => {
    fs.mkdirSync(path.dirname(moved), { recursive: true });
    fs.renameSync(first, moved);
    copyProject(first);
    poisonProviders(first, marker);
    movedStack = new PulumiStack(moved, work, "e2emove", PASSPHRASE);
    const inside = new PulumiStack(path.join(moved, "nix"), work, "e2emove", PASSPHRASE);
    const since = Date.now();
    const r = await inside.ok(["refresh", "--yes"]);
    assert.equal(oldCheckoutRan(), "", r.output);
    for (const host of HOSTS) assert.ok(sessions(since, host) > 0, `refresh did not read ${host}:\n${r.output}`);
  });

  it("refuses a project older than the version that wrote the state for refresh and preview, naming both and what to do, and touches no host", async () => {
    setVersion("0.0.1");
    try {
      const refusal = new RegExp(`state was written by nixos-fleet@${version.replace(/\./g, "\\.")}, but this project \\(${moved.replace(/\//g, "\\/")}\\) is nixos-fleet@0\\.0\\.1`);
      const since = Date.now();
      const r = await movedStack.run(["refresh", "--yes"]);
      assert.notEqual(r.code, 0, r.output);
      assert.match(r.output, refusal);
      assert.match(r.output, /Run this command from a checkout of nixos-fleet@\S+ or later/);
      // Its own program writes providers of its version; the hosts' recorded state is still newer.
      const p = await movedStack.run(["preview", "--diff"]);
      assert.notEqual(p.code, 0, p.output);
      assert.match(p.output, refusal);
      for (const host of HOSTS) assert.equal(sessions(since, host), 0, `${host} was read by a refused project`);
    } finally {
      setVersion(version);
    }
  });

  it("accepts a newer version of the project on the state an older one wrote", async () => {
    const [major, minor] = version.split(".").map(Number);
    setVersion(`${major}.${minor + 1}.0`);
    try {
      const since = Date.now();
      await movedStack.ok(["refresh", "--yes"]);
      for (const host of HOSTS) assert.ok(sessions(since, host) > 0, `${host} was not read`);
    } finally {
      setVersion(version);
    }
  });

  it("takes the flat state 0.1.0 wrote: the next up rewrites it grouped, keeps every output and contacts no host", async () => {
    // What 0.1.0 recorded: the same properties, not grouped, and its own version in the provider text.
    const before = JSON.parse((await movedStack.ok(["stack", "export"])).stdout) as Exported;
    const written = path.join(work, "written-by-0.1.0.json");
    const olden = (props: Record<string, unknown> | undefined) => {
      const flat = fromWire<Record<string, unknown>>({ ...HOST_GROUPS, ...BUILD_GROUPS }, props ?? {});
      return { ...flat, __provider: String(flat.__provider).split(`nixos-fleet@${version}`).join("nixos-fleet@0.1.0") };
    };
    const resources = (before.deployment.resources ?? []).map((r) => (/:Nixos(Host|Build)$/.test(r.type) ? { ...r, inputs: olden(r.inputs), outputs: olden(r.outputs) } : r));
    fs.writeFileSync(written, JSON.stringify({ ...before, deployment: { ...before.deployment, resources } }));
    await movedStack.ok(["stack", "import", "--file", written]);
    const srv1Before = (await dynamicResources(movedStack)).find((r) => /NixosHost::srv1$/.test(r.urn));
    assert.equal(srv1Before?.outputs?.ssh, undefined, "the imported state is not flat");

    const since = Date.now();
    const preview = await movedStack.ok(["preview", "--diff"]);
    assert.match(preview.stdout, new RegExp(`${2 * HOSTS.length} to update`), preview.stdout);
    const r = await movedStack.ok(["up", "--yes", "--skip-preview"]);
    for (const host of HOSTS) assert.equal(sessions(since, host), 0, `${host} was contacted to rewrite its state:\n${r.output}`);
    const after = await dynamicResources(movedStack);
    for (const x of after) {
      assert.ok(isWire(x.inputs ?? {}) && isWire(x.outputs ?? {}), `${x.urn} is still flat`);
      assert.match(String(x.outputs?.__provider), new RegExp(`nixos-fleet@${version.replace(/\./g, "\\.")}`));
    }
    const srv1 = after.find((x) => /NixosHost::srv1$/.test(x.urn))?.outputs as { status: { systemPath: string; generation: number } };
    assert.equal(srv1.status.systemPath, srv1Before?.outputs?.systemPath);
    assert.equal(srv1.status.generation, srv1Before?.outputs?.generation);
    const out = JSON.parse((await movedStack.ok(["stack", "output", "--json"])).stdout) as { fleet: Record<string, { systemPath: string }> };
    assert.equal(out.fleet.srv1.systemPath, srv1.status.systemPath, "the stack output reads the rewritten state");
    assert.match((await movedStack.ok(["preview", "--diff", "--expect-no-changes"])).stdout, /unchanged/);
  });

  it("removes a host from the moved project: its Node is drained and removed, the others stay", async () => {
    await configureForFleet(movedStack, inventory(HOSTS.slice(0, 2)), fj);
    const since = Date.now();
    const r = await movedStack.ok(["up", "--yes", "--skip-preview"]);
    assert.equal(oldCheckoutRan(), "", r.output);
    const left = (await dynamicResources(movedStack)).map((x) => x.urn.split("::").pop()).sort();
    assert.deepEqual(left, ["srv1", "srv1", "srv2", "srv2"], "srv3's NixosBuild and NixosHost are still in the state");
    assert.match(r.stdout, /Node srv3 deleted/);
    assert.deepEqual(deletedNodes(since), ["srv3"]);
  });

  it("destroys the stack from the moved project", async () => {
    const since = Date.now();
    const r = await movedStack.ok(["destroy", "--yes", "--skip-preview"]);
    assert.equal(oldCheckoutRan(), "", r.output);
    assert.deepEqual(await dynamicResources(movedStack), []);
    assert.deepEqual(deletedNodes(since), ["srv1", "srv2"]);
    await movedStack.ok(["stack", "rm", "--yes"]);
  });
});
