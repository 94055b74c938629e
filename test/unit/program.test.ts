import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { hostExports, rollOutFleet } from "../../providers/fleet";
import { BUILD_GROUPS, HOST_GROUPS, toWire } from "../../providers/wire";
import { fileHashes, stagingDirFor } from "../../lib/nixos/staging";
import type { StagedBuild } from "../../lib/rollout/spec";
import { mockedState } from "../fakes/mockState";
import { testSpec } from "../fakes/specs";

interface Registration {
  /** "FleetBuild" or "NixosHost". */
  readonly kind: string;
  readonly name: string;
  /** What it depends on, as "Kind/name". */
  readonly dependencies: string[];
  readonly secretOutputs: string[];
  readonly inputs: Record<string, unknown>;
}

/** "NixosHost/srv1" from a resource's URN. */
function short(urn: string): string {
  const m = /:(\w+)::([\w-]+)$/.exec(urn);
  return m ? `${m[1]}/${m[2]}` : urn;
}

/** Registers the fleet against Pulumi's mocks and records what the engine would be told. */
async function register(names: string[], waves?: string[][]): Promise<Registration[]> {
  const seen: Registration[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        seen.push({ kind: args.type.replace(/.*:/, ""), name: args.name, dependencies: [], secretOutputs: [], inputs: args.inputs });
        return { id: args.name, state: mockedState(args.type, args.inputs) };
      },
      call: () => ({}),
    },
    "nixos-fleet",
    "unit",
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: { getType(): string; getName(): string; getDependenciesList(): string[]; getAdditionalsecretoutputsList(): string[] }, cb: unknown): unknown;
  };
  const original = monitor.registerResource.bind(monitor);
  const deps = new Map<string, { d: string[]; s: string[] }>();
  monitor.registerResource = (req, cb) => {
    deps.set(`${req.getType().replace(/.*:/, "")}/${req.getName()}`, { d: req.getDependenciesList().map(short), s: req.getAdditionalsecretoutputsList() });
    return original(req, cb);
  };
  const hosts = rollOutFleet(names.map((n) => testSpec(n)), waves);
  await Promise.all(hosts.map((h) => new Promise((resolve) => pulumi.all([h.urn, h.status]).apply(resolve))));
  return seen.map((r) => ({ ...r, dependencies: deps.get(`${r.kind}/${r.name}`)?.d ?? [], secretOutputs: deps.get(`${r.kind}/${r.name}`)?.s ?? [] }));
}

/** The host resources' dependencies on other hosts, by host name. */
function hostChain(regs: readonly Registration[]): Record<string, string[]> {
  const hosts = regs.filter((r) => r.kind === "NixosHost");
  return Object.fromEntries(hosts.map((r) => [r.name, r.dependencies.filter((d) => d.startsWith("NixosHost/")).map((d) => d.slice("NixosHost/".length)).sort()]));
}

describe("the fleet program", () => {
  it("declares one build for the fleet, which depends on nothing, and keeps the rendered files there only", async () => {
    const regs = await register(["srv1", "srv2", "srv3"]);
    const builds = regs.filter((r) => r.kind === "FleetBuild");
    assert.deepEqual(builds.map((b) => [b.name, b.dependencies]), [["fleet", []]], "one build, waiting for nothing");
    const hosts = builds[0].inputs.hosts as Record<string, { files: unknown; build: { stagingDir: string } }>;
    assert.deepEqual(Object.keys(hosts), ["srv1", "srv2", "srv3"]);
    for (const [name, b] of Object.entries(hosts)) {
      assert.deepEqual(b.files, testSpec(name).files);
      assert.equal(b.build.stagingDir, stagingDirFor(testSpec(name).files));
    }
    for (const h of regs.filter((r) => r.kind === "NixosHost")) {
      const nixos = h.inputs.nixos as { files: unknown; staged: StagedBuild };
      assert.deepEqual(nixos.files, {}, `${h.name} keeps no file contents`);
      const staged = nixos.staged;
      assert.deepEqual(staged, { dir: stagingDirFor(testSpec(h.name).files), system: `/nix/store/built-${h.name}`, fileHashes: fileHashes(testSpec(h.name).files) });
    }
  });

  it("makes the first wave wait for the build, and later waves for the wave before", async () => {
    const regs = await register(["srv1", "srv2", "srv3"], [["srv1"], ["srv2", "srv3"]]);
    const deps = Object.fromEntries(regs.filter((r) => r.kind === "NixosHost").map((r) => [r.name, [...r.dependencies].sort()]));
    assert.deepEqual(deps, {
      srv1: ["FleetBuild/fleet"],
      srv2: ["FleetBuild/fleet", "NixosHost/srv1"],
      srv3: ["FleetBuild/fleet", "NixosHost/srv1"],
    });
  });

  it("chains every host on the one before it, in plan order", async () => {
    const regs = await register(["srv1", "srv2", "srv3"]);
    assert.deepEqual(regs.filter((r) => r.kind === "NixosHost").map((r) => r.name), ["srv1", "srv2", "srv3"]);
    assert.deepEqual(hostChain(regs), { srv1: [], srv2: ["srv1"], srv3: ["srv2"] });
  });

  it("with waves of one host is exactly that chain", async () => {
    const regs = await register(["srv1", "srv2", "srv3"], [["srv1"], ["srv2"], ["srv3"]]);
    assert.deepEqual(hostChain(regs), { srv1: [], srv2: ["srv1"], srv3: ["srv2"] });
  });

  it("lets the hosts of a wave run at once and makes each host wait for every host of the wave before", async () => {
    const waves = [["cp1"], ["a1", "a2"], ["a3"], ["b1", "b2"]];
    const regs = await register(["cp1", "a1", "b1", "a2", "b2", "a3"], waves);
    assert.deepEqual(regs.filter((r) => r.kind === "NixosHost").map((r) => r.name), ["cp1", "a1", "a2", "a3", "b1", "b2"]);
    assert.deepEqual(hostChain(regs), {
      cp1: [],
      a1: ["cp1"],
      a2: ["cp1"],
      a3: ["a1", "a2"],
      b1: ["a3"],
      b2: ["a3"],
    });
  });

  it("refuses waves that leave a host out, name one twice or name an unknown one", async () => {
    const specs = ["srv1", "srv2"].map((n) => testSpec(n));
    assert.throws(() => rollOutFleet(specs, [["srv1"]]), /leave out srv2/);
    assert.throws(() => rollOutFleet(specs, [["srv1"], ["srv1", "srv2"]]), /srv1 twice/);
    assert.throws(() => rollOutFleet(specs, [["srv1", "srv2", "srv9"]]), /srv9, which is not a planned host/);
  });

  it("exports each host's change report beside its other outputs", async () => {
    const report = {
      changed: true,
      kernel: { from: "6.6.45", to: "6.6.46" },
      nixosVersion: { from: "24.05.20240812.5f2c6b1", to: "24.05.20240819.8a7d3e2" },
      packages: { added: [{ name: "jq", version: "1.7.1" }], removed: [], upgraded: [{ name: "linux", from: "6.6.45", to: "6.6.46" }] },
      packagesError: "",
    };
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => ({ id: args.name, state: { ...mockedState(args.type, args.inputs), ...(args.type.endsWith("NixosHost") ? { status: { changes: report, generation: 3 } } : {}) } }),
        call: () => ({}),
      },
      "nixos-fleet",
      "unit",
      false,
    );
    const exported = hostExports(rollOutFleet([testSpec("srv1")]), [["srv1"]]);
    const status = await new Promise<{ changes: unknown; generation: number }>((resolve) => exported.srv1.apply(resolve));
    assert.deepEqual(status.changes, report);
    assert.equal(status.generation, 3);
  });

  it("keeps the SSH key, secret files and kubeconfig secret in the outputs", async () => {
    const regs = await register(["srv1"]);
    const host = regs.find((r) => r.kind === "NixosHost") as Registration;
    for (const k of ["sshPrivateKey", "secretFiles", "kubernetes"]) assert.ok(host.secretOutputs.includes(k), k);
    const build = regs.find((r) => r.kind === "FleetBuild") as Registration;
    assert.ok(build.secretOutputs.includes("sshPrivateKeys"));
  });

  it("serializes a provider that deserializes and runs the compiled implementation", async () => {
    const regs = await register(["srv1"]);
    const serialized = (regs.find((r) => r.kind === "NixosHost") as Registration).inputs["__provider"];
    assert.equal(typeof serialized, "string");
    // The engine's dynamic-provider host loads the provider text the same way.
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    const provider = requireFromString(serialized as string).handler();
    const olds = toWire(HOST_GROUPS, testSpec("srv1"));
    const same = await provider.diff!("srv1", olds, toWire(HOST_GROUPS, testSpec("srv1")));
    assert.equal(same.changes, false);
    const changed = await provider.diff!("srv1", olds, toWire(HOST_GROUPS, testSpec("srv1", { files: { "configuration.nix": "{ }\n" } })));
    assert.equal(changed.changes, true);
    assert.deepEqual(changed.replaces, []);
    const flat = await provider.diff!("srv1", testSpec("srv1"), toWire(HOST_GROUPS, testSpec("srv1")));
    assert.deepEqual([flat.changes, flat.replaces], [true, []], "state written flat is rewritten grouped, in place");
    assert.ok((serialized as string).length < 20_000, `serialized provider is ${(serialized as string).length} bytes`);
  });

  it("serializes a build provider that deserializes and runs the compiled implementation", async () => {
    const regs = await register(["srv1", "srv2"]);
    const serialized = (regs.find((r) => r.kind === "FleetBuild") as Registration).inputs["__provider"];
    assert.equal(typeof serialized, "string");
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    const provider = requireFromString(serialized as string).handler();
    const specs = [testSpec("srv1"), testSpec("srv2")];
    const olds = { ...buildInputs(specs), systems: { srv1: "/nix/store/built-srv1", srv2: "/nix/store/built-srv2" } };
    assert.equal((await provider.diff!("fleet", olds, buildInputs(specs))).changes, false);
    const edited = [testSpec("srv1"), testSpec("srv2", { files: { "configuration.nix": "{ }\n" } })];
    assert.deepEqual(await provider.diff!("fleet", olds, buildInputs(edited)), { changes: true, replaces: [], deleteBeforeReplace: false });
    assert.equal((await provider.diff!("fleet", olds, buildInputs(specs.slice(0, 1)))).changes, true, "a host left the fleet");
    assert.ok((serialized as string).length < 20_000, `serialized provider is ${(serialized as string).length} bytes`);
  });
});

/** The build inputs the fleet declares for `specs`, as the engine has them. */
function buildInputs(specs: readonly ReturnType<typeof testSpec>[]): Record<string, unknown> {
  const hosts = specs.map(({ name, address, port, user, hostKey, trustOnFirstUse, files, timeouts }) => [name, toWire(BUILD_GROUPS, { address, port, user, hostKey, trustOnFirstUse, files, stagingDir: stagingDirFor(files), timeouts })]);
  return { hosts: Object.fromEntries(hosts), sshPrivateKeys: Object.fromEntries(specs.map((s) => [s.name, s.sshPrivateKey])) };
}
