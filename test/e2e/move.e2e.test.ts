/**
 * End to end with the real Pulumi CLI: a project rolled out from one folder is moved to another,
 * and an old checkout whose providers refuse to run is left at the first folder. From the moved
 * project, refresh reads every host, removing a host from the inventory drains and removes its
 * Node, and destroy empties the stack, all with the moved project's code; a project of an older
 * version than the one that wrote the state is refused (refresh, preview) with both versions
 * named, a newer one is not; a host's flat state as 0.1.0 wrote it is rewritten in the grouped
 * shape of providers/wire.ts by the next up, without contacting a host; and the NixosBuild per
 * host of 0.2.0 gives way to one FleetBuild, which builds nothing new, while no host is disrupted;
 * and the FleetBuild of 0.3.0, whose hosts held all their files, holds the shared ones once after
 * the next up, which contacts no host.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { fromWire, HOST_GROUPS, isWire } from "../../providers/wire";
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
  for (const f of ["impl.js", "fleetBuildImpl.js", "loader.js"]) fs.writeFileSync(path.join(project, "dist", "providers", f), refuse);
}

interface Resource {
  readonly urn: string;
  readonly type: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
  readonly dependencies?: readonly string[];
  readonly propertyDependencies?: Record<string, readonly string[]>;
}

interface Exported {
  readonly deployment: { readonly resources?: readonly Resource[] };
}

/** The engine's envelope of a secret, with its value in plain text (`stack export --show-secrets`, which `stack import` takes). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const plainSecret = (value: unknown) => ({ [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(value) });

/**
 * The state 0.2.0 wrote for a fleet this version rolled out: a NixosBuild per host where the
 * FleetBuild is, each with that host's part of it, its own provider text (which called the
 * loader's `buildImplementation`) and version; hosts depending on their builds. `deployment`
 * comes from `stack export --show-secrets`.
 */
function asWrittenBy020(exported: Exported, version: string): Exported {
  const resources = exported.deployment.resources ?? [];
  const fleet = resources.find((r) => /:FleetBuild$/.test(r.type)) ?? assert.fail("no FleetBuild in the state");
  const outs = fleet.outputs as { hosts: Record<string, Record<string, unknown>>; sshPrivateKeys: { plaintext: string }; systems: Record<string, string>; pinnedHostKeys: Record<string, string>; __provider: string };
  const keys = JSON.parse(outs.sshPrivateKeys.plaintext) as Record<string, string>;
  const provider = outs.__provider.replace("fleetBuildImplementation", "buildImplementation").split(`nixos-fleet@${version}`).join("nixos-fleet@0.2.0");
  const buildUrn = (host: string) => fleet.urn.replace(/FleetBuild::fleet$/, `NixosBuild::${host}`);
  const builds: Resource[] = Object.entries(outs.hosts).map(([host, wire]) => {
    const inputs = { ...wire, name: host, sshPrivateKey: plainSecret(keys[host]), __provider: provider };
    return { ...fleet, urn: buildUrn(host), type: fleet.type.replace(/FleetBuild$/, "NixosBuild"), inputs, outputs: { ...inputs, system: outs.systems[host], pinnedHostKey: outs.pinnedHostKeys[host] } };
  });
  const rewired = (r: Resource): Resource => {
    const host = r.urn.split("::").pop() as string;
    const deps = (list: readonly string[]) => list.map((d) => (d === fleet.urn ? buildUrn(host) : d));
    const propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies ?? {}).map(([k, v]) => [k, deps(v)]));
    return { ...r, dependencies: deps(r.dependencies ?? []), propertyDependencies };
  };
  const others = resources.filter((r) => r !== fleet).map((r) => (/:NixosHost$/.test(r.type) ? rewired(r) : r));
  const at = resources.indexOf(fleet);
  return { ...exported, deployment: { ...exported.deployment, resources: [...others.slice(0, at), ...builds, ...others.slice(at)] } };
}

/**
 * The state 0.3.0 wrote for a fleet this version rolled out: every resource's provider text of
 * that version, and a FleetBuild whose hosts hold all their files, with no `sharedFiles`.
 */
function asWrittenBy030(exported: Exported, version: string): Exported {
  const older = JSON.parse(JSON.stringify(exported).split(`nixos-fleet@${version}`).join("nixos-fleet@0.3.0")) as Exported;
  const perHost = (props: Record<string, unknown> | undefined) => {
    const { sharedFiles, hosts, ...rest } = (props ?? {}) as { sharedFiles?: Record<string, string>; hosts: Record<string, { files: Record<string, string> }> };
    assert.ok(sharedFiles && Object.keys(sharedFiles).length > 0, "this version holds the shared files apart");
    return { ...rest, hosts: Object.fromEntries(Object.entries(hosts).map(([name, h]) => [name, { ...h, files: { ...sharedFiles, ...h.files } }])) };
  };
  const resources = (older.deployment.resources ?? []).map((r) => (/:FleetBuild$/.test(r.type) ? { ...r, inputs: perHost(r.inputs), outputs: perHost(r.outputs) } : r));
  return { ...older, deployment: { ...older.deployment, resources } };
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
  const dynamicResources = async (s: PulumiStack) => ((await exported(s)).deployment.resources ?? []).filter((r) => /^pulumi-nodejs:dynamic.*:(NixosHost|NixosBuild|FleetBuild)$/.test(r.type));
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
    assert.equal(resources.length, HOSTS.length + 1, "a FleetBuild, and a NixosHost per host");
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

  it("takes a host's flat state as 0.1.0 wrote it: the next up rewrites it grouped, keeps every output and contacts no host", async () => {
    // What 0.1.0 recorded of a host: the same properties, not grouped, and its own version in the provider text.
    const before = JSON.parse((await movedStack.ok(["stack", "export"])).stdout) as Exported;
    const written = path.join(work, "written-by-0.1.0.json");
    const olden = (props: Record<string, unknown> | undefined) => {
      const flat = fromWire<Record<string, unknown>>(HOST_GROUPS, props ?? {});
      return { ...flat, __provider: String(flat.__provider).split(`nixos-fleet@${version}`).join("nixos-fleet@0.1.0") };
    };
    const resources = (before.deployment.resources ?? []).map((r) => (/:NixosHost$/.test(r.type) ? { ...r, inputs: olden(r.inputs), outputs: olden(r.outputs) } : r));
    fs.writeFileSync(written, JSON.stringify({ ...before, deployment: { ...before.deployment, resources } }));
    await movedStack.ok(["stack", "import", "--file", written]);
    const srv1Before = (await dynamicResources(movedStack)).find((r) => /NixosHost::srv1$/.test(r.urn));
    assert.equal(srv1Before?.outputs?.ssh, undefined, "the imported state is not flat");

    const since = Date.now();
    const preview = await movedStack.ok(["preview", "--diff"]);
    assert.match(preview.stdout, new RegExp(`${HOSTS.length} to update`), preview.stdout);
    const r = await movedStack.ok(["up", "--yes", "--skip-preview"]);
    for (const host of HOSTS) assert.equal(sessions(since, host), 0, `${host} was contacted to rewrite its state:\n${r.output}`);
    const after = await dynamicResources(movedStack);
    for (const x of after.filter((y) => /:NixosHost$/.test(y.type))) {
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

  it("takes the NixosBuild per host 0.2.0 wrote: the next up builds every host once into one FleetBuild, finds each system already built, and disrupts none", async () => {
    const written = path.join(work, "written-by-0.2.0.json");
    const current = JSON.parse((await movedStack.ok(["stack", "export", "--show-secrets"])).stdout) as Exported;
    fs.writeFileSync(written, JSON.stringify(asWrittenBy020(current, version)));
    await movedStack.ok(["stack", "import", "--file", written]);
    const imported = (await dynamicResources(movedStack)).map((x) => /(\w+::[\w-]+)$/.exec(x.urn)?.[1]).sort();
    assert.deepEqual(imported, ["NixosBuild::srv1", "NixosBuild::srv2", "NixosBuild::srv3", "NixosHost::srv1", "NixosHost::srv2", "NixosHost::srv3"]);

    const since = Date.now();
    const preview = await movedStack.ok(["preview", "--diff"]);
    assert.match(preview.stdout, /\+ 1 to create/, preview.stdout);
    assert.match(preview.stdout, new RegExp(`- ${HOSTS.length} to delete`), preview.stdout);
    assert.doesNotMatch(preview.stdout, /NixosHost: \(update\)/, "a host would be rolled out again");
    const r = await movedStack.ok(["up", "--yes", "--skip-preview"]);
    const timeline = fleet.timeline().filter((e: TimelineEvent) => e.t >= since);
    assert.deepEqual(timeline.filter((e) => ["activated", "cordon", "eviction", "reboot-started", "down"].includes(e.kind)), [], `a host was disrupted:\n${r.output}`);
    const built = timeline.filter((e) => e.kind === "build-finished");
    assert.deepEqual(built.map((e) => e.host).sort(), HOSTS, "each host is built once, into the FleetBuild");
    const outputs = JSON.parse((await movedStack.ok(["stack", "output", "--json"])).stdout) as { fleet: Record<string, { systemPath: string }> };
    for (const e of built) assert.equal(e.detail?.system, outputs.fleet[e.host].systemPath, `${e.host}'s build is the system it already runs`);
    assert.equal(oldCheckoutRan(), "", r.output);
    const after = (await dynamicResources(movedStack)).map((x) => /(\w+::[\w-]+)$/.exec(x.urn)?.[1]).sort();
    assert.deepEqual(after, ["FleetBuild::fleet", "NixosHost::srv1", "NixosHost::srv2", "NixosHost::srv3"]);
    assert.match((await movedStack.ok(["preview", "--diff", "--expect-no-changes"])).stdout, /unchanged/);
  });

  it("takes the FleetBuild 0.3.0 wrote, every host holding all its files: the next up holds the shared files once, builds nothing and contacts no host", async () => {
    const written = path.join(work, "written-by-0.3.0.json");
    const current = JSON.parse((await movedStack.ok(["stack", "export", "--show-secrets"])).stdout) as Exported;
    fs.writeFileSync(written, JSON.stringify(asWrittenBy030(current, version)));
    await movedStack.ok(["stack", "import", "--file", written]);
    const since = Date.now();
    const preview = await movedStack.ok(["preview", "--diff"]);
    assert.match(preview.stdout, /FleetBuild: \(update\)/, preview.stdout);
    assert.doesNotMatch(preview.stdout, /NixosHost: \(update\)/, "a host would be rolled out again");
    const r = await movedStack.ok(["up", "--yes", "--skip-preview"]);
    for (const host of HOSTS) assert.equal(sessions(since, host), 0, `${host} was contacted:\n${r.output}`);
    const fleetBuild = (await dynamicResources(movedStack)).find((x) => /:FleetBuild$/.test(x.type)) ?? assert.fail("no FleetBuild");
    const outs = fleetBuild.outputs as { sharedFiles: Record<string, string>; hosts: Record<string, { files: Record<string, string> }> };
    assert.deepEqual(Object.keys(outs.sharedFiles).sort(), ["fleet/base.nix", "fleet/guard.nix", "fleet/k3s.nix"]);
    for (const host of HOSTS) assert.deepEqual(Object.keys(outs.hosts[host].files).sort(), ["configuration.nix", "fleet/host.nix"], host);
    assert.equal(oldCheckoutRan(), "", r.output);
    assert.match((await movedStack.ok(["preview", "--diff", "--expect-no-changes"])).stdout, /unchanged/);
  });

  it("removes a host from the moved project: its Node is drained and removed, the others stay", async () => {
    await configureForFleet(movedStack, inventory(HOSTS.slice(0, 2)), fj);
    const since = Date.now();
    const r = await movedStack.ok(["up", "--yes", "--skip-preview"]);
    assert.equal(oldCheckoutRan(), "", r.output);
    const left = (await dynamicResources(movedStack)).map((x) => x.urn.split("::").pop()).sort();
    assert.deepEqual(left, ["fleet", "srv1", "srv2"], "the FleetBuild and the NixosHosts of srv1 and srv2 are what is left");
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
