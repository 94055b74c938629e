import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { rollOutFleet } from "../../providers/fleet";
import { testSpec } from "../fakes/specs";

interface Registration {
  readonly name: string;
  readonly type: string;
  readonly dependencies: string[];
  readonly secretOutputs: string[];
  readonly inputs: Record<string, unknown>;
}

/** Registers the fleet against Pulumi's mocks and records what the engine would be told. */
async function register(names: string[], waves?: string[][]): Promise<Registration[]> {
  const seen: Registration[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        seen.push({ name: args.name, type: args.type, dependencies: [], secretOutputs: [], inputs: args.inputs });
        return { id: args.name, state: args.inputs };
      },
      call: () => ({}),
    },
    "nixos-fleet",
    "unit",
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: { getName(): string; getDependenciesList(): string[]; getAdditionalsecretoutputsList(): string[] }, cb: unknown): unknown;
  };
  const original = monitor.registerResource.bind(monitor);
  const deps = new Map<string, { d: string[]; s: string[] }>();
  monitor.registerResource = (req, cb) => {
    deps.set(req.getName(), { d: req.getDependenciesList(), s: req.getAdditionalsecretoutputsList() });
    return original(req, cb);
  };
  const hosts = rollOutFleet(names.map((n) => testSpec(n)), waves);
  await Promise.all(hosts.map((h) => new Promise((resolve) => pulumi.all([h.urn, h.systemPath]).apply(resolve))));
  return seen.map((r) => ({ ...r, dependencies: deps.get(r.name)?.d ?? [], secretOutputs: deps.get(r.name)?.s ?? [] }));
}

describe("the fleet program", () => {
  it("chains every host on the one before it, in plan order", async () => {
    const regs = await register(["srv1", "srv2", "srv3"]);
    assert.deepEqual(regs.map((r) => r.name), ["srv1", "srv2", "srv3"]);
    assert.deepEqual(regs[0].dependencies, []);
    assert.equal(regs[1].dependencies.length, 1);
    assert.match(regs[1].dependencies[0], /::srv1$/);
    assert.equal(regs[2].dependencies.length, 1);
    assert.match(regs[2].dependencies[0], /::srv2$/);
  });

  it("with waves of one host is exactly that chain", async () => {
    const regs = await register(["srv1", "srv2", "srv3"], [["srv1"], ["srv2"], ["srv3"]]);
    assert.deepEqual(
      regs.map((r) => [r.name, r.dependencies.map((d) => d.replace(/.*::/, ""))]),
      [["srv1", []], ["srv2", ["srv1"]], ["srv3", ["srv2"]]],
    );
  });

  it("lets the hosts of a wave run at once and makes each host wait for every host of the wave before", async () => {
    const waves = [["cp1"], ["a1", "a2"], ["a3"], ["b1", "b2"]];
    const regs = await register(["cp1", "a1", "b1", "a2", "b2", "a3"], waves);
    const deps = new Map(regs.map((r) => [r.name, r.dependencies.map((d) => d.replace(/.*::/, "")).sort()]));
    assert.deepEqual(regs.map((r) => r.name), ["cp1", "a1", "a2", "a3", "b1", "b2"]);
    assert.deepEqual(Object.fromEntries(deps), {
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

  it("keeps the SSH key, secret files and kubeconfig secret in the outputs", async () => {
    const regs = await register(["srv1"]);
    for (const k of ["sshPrivateKey", "secretFiles", "kubernetes"]) assert.ok(regs[0].secretOutputs.includes(k), k);
  });

  it("serializes a provider that deserializes and runs the compiled implementation", async () => {
    const regs = await register(["srv1"]);
    const serialized = regs[0].inputs["__provider"];
    assert.equal(typeof serialized, "string");
    // The engine's dynamic-provider host loads the provider text the same way.
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    const provider = requireFromString(serialized as string).handler();
    const olds = testSpec("srv1");
    const same = await provider.diff!("srv1", olds, testSpec("srv1"));
    assert.equal(same.changes, false);
    const changed = await provider.diff!("srv1", olds, testSpec("srv1", { files: { "configuration.nix": "{ }\n" } }));
    assert.equal(changed.changes, true);
    assert.deepEqual(changed.replaces, []);
    assert.ok((serialized as string).length < 20_000, `serialized provider is ${(serialized as string).length} bytes`);
  });
});
