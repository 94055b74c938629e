/**
 * The program (index.ts) under Pulumi's mocks: config in, a FleetBuild and NixosHost resources out,
 * the hosts in rollout order and chained after every build; bad config stops it before any resource is declared.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { mockedState } from "../fakes/mockState";
import { HOST_KEYS, loginKey } from "./helpers/fixtures";

const INDEX = path.resolve(__dirname, "../../index.js");
const PROJECT = path.resolve(__dirname, "../../..");

interface Seen {
  /** "FleetBuild" or "NixosHost". */
  readonly kind: string;
  readonly name: string;
  readonly dependencies: string[];
  readonly files: Record<string, string>;
  readonly inputs: Record<string, unknown>;
  /** The provider reference it was registered with, if any. */
  readonly provider?: string;
}

/** The exports of the program's last run. */
let exported: { rolloutOrder: string[]; rolloutWaves: string[][] } | undefined;

/** Runs the program with `config` (secret keys listed in `secretKeys`) and returns what it declared. */
async function runProgram(config: Record<string, string>, secretKeys: string[]): Promise<Seen[]> {
  const seen: Seen[] = [];
  const deps = new Map<string, string[]>();
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        seen.push({ kind: a.type.replace(/.*:/, ""), name: a.name, dependencies: [], files: a.inputs.files ?? a.inputs.nixos?.files, inputs: a.inputs, provider: a.provider });
        return { id: a.name, state: mockedState(a.type, a.inputs) };
      },
      call: () => ({}),
    },
    "nixos-fleet",
    "unit",
    false,
  );
  pulumi.runtime.setAllConfig(config, secretKeys);
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: { getType(): string; getName(): string; getDependenciesList(): string[] }, cb: unknown): unknown };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    // Other hosts' resources as "Kind/name".
    deps.set(`${req.getType().replace(/.*:/, "")}/${req.getName()}`, req.getDependenciesList().map((u) => u.replace(/.*:(\w+)::([\w-]+)$/, "$1/$2")));
    return original(req, cb);
  };
  const cwd = process.cwd();
  process.chdir(PROJECT);
  try {
    delete require.cache[INDEX];
    const program = require(INDEX) as { rolloutOrder: string[]; rolloutWaves: string[][] };
    assert.ok(Array.isArray(program.rolloutOrder));
    exported = program;
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    process.chdir(cwd);
  }
  return seen.map((s) => ({ ...s, dependencies: deps.get(`${s.kind}/${s.name}`) ?? [] }));
}

const inventory = {
  k3s: { enable: true, serverAddr: "https://192.0.2.10:6443", tokenSecret: "k3sToken" },
  hosts: [
    { name: "w1", role: "worker", address: "192.0.2.11", hostKey: HOST_KEYS[1] },
    { name: "cp1", role: "control-plane", address: "192.0.2.10", hostKey: HOST_KEYS[0] },
    { name: "w2", role: "worker", address: "192.0.2.12", hostKey: HOST_KEYS[2] },
  ],
};

describe("index.ts under Pulumi's mocks", () => {
  it("declares a build for the fleet and one NixosHost per host, control plane first after the build, each depending on the one before", async () => {
    const seen = await runProgram(
      {
        "fleet:inventory": JSON.stringify(inventory),
        "fleet:sshPrivateKey": loginKey(),
        "fleet:secrets": JSON.stringify({ k3sToken: "t0ken" }),
        "fleet:kubeconfig": "apiVersion: v1\nkind: Config\n",
      },
      ["fleet:sshPrivateKey", "fleet:secrets", "fleet:kubeconfig"],
    );
    const hosts = seen.filter((s) => s.kind === "NixosHost");
    const builds = seen.filter((s) => s.kind === "FleetBuild");
    assert.deepEqual(hosts.map((s) => s.name), ["cp1", "w1", "w2"]);
    assert.deepEqual(builds.map((s) => [s.name, s.dependencies]), [["fleet", []]]);
    const built = builds[0].inputs.hosts as Record<string, { files: Record<string, string> }>;
    assert.deepEqual(Object.keys(built).sort(), ["cp1", "w1", "w2"]);
    assert.deepEqual(hosts[0].dependencies.sort(), ["FleetBuild/fleet"]);
    assert.deepEqual(hosts[1].dependencies.sort(), ["FleetBuild/fleet", "NixosHost/cp1"]);
    assert.deepEqual(hosts[2].dependencies.sort(), ["FleetBuild/fleet", "NixosHost/w1"]);
    // What every host renders alike is held once: the project's own modules.
    const shared = builds[0].inputs.sharedFiles as Record<string, string>;
    assert.deepEqual(Object.keys(shared).sort(), ["fleet/base.nix", "fleet/guard.nix", "fleet/k3s.nix"]);
    for (const [file, text] of Object.entries(shared)) assert.equal(text, fs.readFileSync(path.join(__dirname, "../../../nix", path.basename(file)), "utf8"), file);
    for (const { files } of Object.values(built)) assert.deepEqual(Object.keys(files).sort(), ["configuration.nix", "fleet/host.nix"]);
    for (const { files } of Object.values(built)) {
      assert.ok(files["configuration.nix"].includes("./hardware-configuration.nix"));
      assert.ok(!JSON.stringify(files).includes("t0ken"));
    }
    for (const s of hosts) assert.deepEqual(s.files, {}, "the rendered files are held by the build only");
  });

  it("declares the hosts wave by wave under a budget and failure domains, and exports the waves", async () => {
    const zone = (z: string) => ({ "topology.kubernetes.io/zone": z });
    const zoned = {
      ...inventory,
      rollout: { maxUnavailable: 2, failureDomainLabel: "topology.kubernetes.io/zone" },
      hosts: [
        { ...inventory.hosts[0], labels: zone("a") },
        { ...inventory.hosts[1], labels: zone("a") },
        { ...inventory.hosts[2], labels: zone("b") },
        { name: "w3", role: "worker", address: "192.0.2.13", ssh: { trustOnFirstUse: true }, labels: zone("a") },
      ],
    };
    const seen = await runProgram(
      { "fleet:inventory": JSON.stringify(zoned), "fleet:sshPrivateKey": loginKey(), "fleet:secrets": JSON.stringify({ k3sToken: "t0ken" }), "fleet:kubeconfig": "apiVersion: v1\nkind: Config\n" },
      ["fleet:sshPrivateKey", "fleet:secrets", "fleet:kubeconfig"],
    );
    assert.deepEqual(exported?.rolloutWaves, [["cp1"], ["w1", "w3"], ["w2"]]);
    assert.deepEqual(exported?.rolloutOrder, ["cp1", "w1", "w3", "w2"]);
    const hosts = seen.filter((s) => s.kind === "NixosHost");
    const deps = Object.fromEntries(hosts.map((s) => [s.name, s.dependencies.filter((d) => d.startsWith("NixosHost/")).map((d) => d.slice("NixosHost/".length)).sort()]));
    assert.deepEqual(deps, { cp1: [], w1: ["cp1"], w3: ["cp1"], w2: ["w1", "w3"] });
  });

  it("patches each labelled or tainted Node once its host is rolled out, through one provider made from the kubeconfig", async () => {
    const kubeconfig = "apiVersion: v1\nkind: Config\n";
    const labelled = {
      ...inventory,
      hosts: [
        { ...inventory.hosts[0], labels: { zone: "a" }, taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }] },
        { ...inventory.hosts[1], nodeName: "cp1.example.com", labels: { "example.com/tier": "gold" } },
        inventory.hosts[2],
      ],
    };
    const seen = await runProgram(
      { "fleet:inventory": JSON.stringify(labelled), "fleet:sshPrivateKey": loginKey(), "fleet:secrets": JSON.stringify({ k3sToken: "t0ken" }), "fleet:kubeconfig": kubeconfig },
      ["fleet:sshPrivateKey", "fleet:secrets", "fleet:kubeconfig"],
    );
    const providers = seen.filter((s) => s.kind === "kubernetes");
    assert.equal(providers.length, 1, "one Kubernetes provider for the fleet");
    assert.deepEqual(providers[0].inputs.kubeconfig, { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: kubeconfig }, "the kubeconfig stays secret");
    const patches = seen.filter((s) => s.kind === "NodePatch");
    assert.deepEqual(patches.map((p) => p.name).sort(), ["cp1", "w1"], "w2 has neither labels nor taints");
    const byName = Object.fromEntries(patches.map((p) => [p.name, p]));
    assert.deepEqual(byName.w1.dependencies, ["NixosHost/w1"]);
    assert.deepEqual(byName.cp1.dependencies, ["NixosHost/cp1"]);
    for (const p of patches) assert.match(p.provider ?? "", /::fleet-cluster::/, `${p.name} goes through the fleet's provider`);
    assert.deepEqual(byName.w1.inputs.metadata, {
      name: "w1",
      labels: { zone: "a" },
      annotations: { "pulumi.com/patchFieldManager": "nixos-fleet", "pulumi.com/patchForce": "true" },
    });
    assert.deepEqual(byName.w1.inputs.spec, { taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }] });
    assert.equal((byName.cp1.inputs.metadata as { name: string }).name, "cp1.example.com");
    assert.equal(byName.cp1.inputs.spec, undefined);
  });

  it("declares no Kubernetes provider nor NodePatch for a fleet that is not a Kubernetes cluster", async () => {
    const plain = { hosts: inventory.hosts.map((h) => ({ ...h, labels: { zone: "a" } })), kubernetes: { enabled: false } };
    const seen = await runProgram({ "fleet:inventory": JSON.stringify(plain), "fleet:sshPrivateKey": loginKey(), "fleet:secrets": "{}" }, ["fleet:sshPrivateKey", "fleet:secrets"]);
    assert.equal(seen.filter((s) => s.kind === "NixosHost").length, 3);
    assert.deepEqual(seen.filter((s) => s.kind === "NodePatch" || s.kind === "kubernetes"), []);
  });

  it("refuses a secret stored in plain text, before declaring any host", async () => {
    await assert.rejects(
      runProgram({ "fleet:inventory": JSON.stringify(inventory), "fleet:sshPrivateKey": loginKey(), "fleet:secrets": "{}" }, []),
      /fleet:sshPrivateKey is stored in plain text .*pulumi config set --secret sshPrivateKey/s,
    );
  });

  it("names the config path of a bad inventory value and declares nothing", async () => {
    const bad = { ...inventory, hosts: [inventory.hosts[1], { ...inventory.hosts[0], address: "10.0.0.300" }] };
    let seen: Seen[] = [];
    await assert.rejects(
      (async () => {
        seen = await runProgram({ "fleet:inventory": JSON.stringify(bad), "fleet:sshPrivateKey": loginKey(), "fleet:secrets": "{}" }, ["fleet:sshPrivateKey", "fleet:secrets"]);
      })(),
      /hosts\[1\]\.address/,
    );
    assert.deepEqual(seen, []);
  });

  /** Runs the program with `inv` and good secrets; returns the error and what was declared. */
  async function rejected(inv: unknown): Promise<{ error: unknown; seen: Seen[] }> {
    let seen: Seen[] = [];
    try {
      seen = await runProgram(
        { "fleet:inventory": JSON.stringify(inv), "fleet:sshPrivateKey": loginKey(), "fleet:secrets": JSON.stringify({ k3sToken: "t0ken" }), "fleet:kubeconfig": "apiVersion: v1\n" },
        ["fleet:sshPrivateKey", "fleet:secrets", "fleet:kubeconfig"],
      );
    } catch (error) {
      return { error, seen };
    }
    return assert.fail(`the program declared ${seen.map((s) => s.name).join(", ")} instead of refusing the inventory`);
  }

  it("refuses a host key cut short on the last host before declaring any host", async () => {
    const last = inventory.hosts[2];
    const cut = `${last.hostKey.split(" ")[0]} ${last.hostKey.split(" ")[1].slice(0, 48)}`;
    const { error, seen } = await rejected({ ...inventory, hosts: [inventory.hosts[0], inventory.hosts[1], { ...last, hostKey: cut }] });
    assert.deepEqual(seen, []);
    // A RunError is printed without a stack trace.
    assert.ok(pulumi.RunError.isInstance(error), String(error));
    assert.match((error as Error).message, /fleet:inventory:1 hosts\[2\]\.hostKey: the ssh-ed25519 key data is cut short: its public key is missing or incomplete .*`ssh-keyscan -t ed25519 <address>`/);
  });

  it("refuses a setting Nix cannot hold as a config error, not a stack trace", async () => {
    const { error, seen } = await rejected({ ...inventory, nix: { settings: { boot: { kernel: { sysctl: { "vm.x": 2.2e-308 } } } } } });
    assert.deepEqual(seen, []);
    assert.ok(pulumi.RunError.isInstance(error), String(error));
    assert.match((error as Error).message, /fleet:inventory:1 nix\.settings\.boot\.kernel\.sysctl\["vm\.x"\]: 2\.2e-308 is too close to zero/);
  });
});
