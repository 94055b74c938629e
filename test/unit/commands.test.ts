/**
 * The rollout hooks and bootstraps (providers/commands.ts) under Pulumi's mocks, through the
 * program (index.ts): which @pulumi/command resources are declared, what they wait for, their
 * triggers, and that no secret reaches the engine in plain text. The command plugin is not run.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { mockedState } from "../fakes/mockState";
import { generateEd25519KeyPair } from "../../lib/host/generateKey";
import { loadInventory } from "../../lib/inventory/load";
import { planCommands, wantsCommands } from "../../lib/commands/plan";
import { HOST_KEYS, REPO, devInventoryText, loginKey, memoryIo } from "./helpers/fixtures";

const INDEX = path.resolve(__dirname, "../../index.js");
const PROJECT = path.resolve(__dirname, "../../..");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

interface Reg {
  /** e.g. "command:remote:Command", "nixos-fleet:NixosHost" (the dynamic type is shortened). */
  readonly type: string;
  readonly name: string;
  /** "Type/name" of what it depends on. */
  readonly deps: string[];
  readonly secretOutputs: string[];
  /** The inputs as the engine receives them, secrets still wrapped. */
  readonly wire: Record<string, unknown>;
  /** The inputs with secrets unwrapped (as the mocks see them). */
  inputs: Record<string, any>;
}

/** The value with every secret envelope replaced by what it holds. */
function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === "object" && value !== null) {
    if (SECRET_SIG in value) return unwrap((value as unknown as { value: unknown }).value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

/** The generated key the mocks answer for each GeneratedHostKey. */
const generated = new Map<string, { publicKey: string; privateKey: string }>();

const label = (type: string, name: string) => `${type.replace(/^pulumi-nodejs:dynamic:Resource$/, "dynamic")}/${name}`;

/** Runs index.ts under the mocks with `inventory`; returns every registration. */
async function run(inventory: unknown): Promise<Reg[]> {
  const seen: Reg[] = [];
  // The mock monitor calls newResource from within registerResource, so the registration being
  // made is the last one seen.
  let current: { inputs: Record<string, any> } | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        if (current !== undefined) current.inputs = unwrap(a.inputs) as Record<string, any>;
        if (a.name.endsWith("-host-key")) {
          const pair = generated.get(a.name) ?? generateEd25519KeyPair();
          generated.set(a.name, pair);
          return { id: a.name, state: { ...a.inputs, ...pair } };
        }
        // The build records the key it trusted on first use per host, "" when the inventory pins one.
        const tofu = (host: string) => (a.inputs.hosts?.[host]?.ssh?.trustOnFirstUse === true ? `ssh-ed25519 AAAA-trusted-by-${host}` : "");
        return { id: a.name, state: mockedState(a.type, a.inputs, tofu) };
      },
      call: () => ({}),
    },
    "nixos-fleet",
    "unit",
    false,
  );
  pulumi.runtime.setAllConfig(
    {
      "fleet:inventory": JSON.stringify(inventory),
      "fleet:sshPrivateKey": loginKey(),
      "fleet:secrets": JSON.stringify({ k3sToken: "t0ken" }),
      "fleet:kubeconfig": "apiVersion: v1\nkind: Config\n# kubeconfig-credential\n",
    },
    ["fleet:sshPrivateKey", "fleet:secrets", "fleet:kubeconfig"],
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: { getType(): string; getName(): string; getDependenciesList(): string[]; getAdditionalsecretoutputsList(): string[]; getObject(): { toJavaScript(): Record<string, unknown> } | undefined }, cb: unknown): unknown;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const name = req.getName();
    const type = req.getType();
    const kind = type === "pulumi-nodejs:dynamic:Resource" ? `nixos-fleet:${name.endsWith("-host-key") ? "GeneratedHostKey" : "dynamic"}` : type;
    const reg: Reg = {
      type: kind,
      name,
      // "Kind/name": the last part of the type (FleetBuild, Command, …) and the name.
      deps: req.getDependenciesList().map((u) => {
        const [t, n] = u.split("::").slice(-2);
        return `${t.split(/[:/]/).pop()}/${n}`;
      }),
      secretOutputs: req.getAdditionalsecretoutputsList(),
      wire: req.getObject()?.toJavaScript() ?? {},
      inputs: {},
    };
    seen.push(reg);
    current = reg;
    return original(req, cb);
  };
  const cwd = process.cwd();
  process.chdir(PROJECT);
  try {
    delete require.cache[INDEX];
    require(INDEX);
    await new Promise((resolve) => setTimeout(resolve, 400));
  } finally {
    process.chdir(cwd);
  }
  return seen;
}

const byName = (regs: readonly Reg[], name: string, type?: RegExp): Reg => {
  const r = regs.find((x) => x.name === name && (type === undefined || type.test(x.type)));
  return r ?? assert.fail(`no resource ${name} among ${regs.map((x) => `${x.type}/${x.name}`).join(", ")}`);
};
const names = (deps: readonly string[]) => deps.map((d) => d.split("/").pop() as string).sort();

/** Strings of `value` outside secret envelopes. */
function plainStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => plainStrings(v, out));
  else if (typeof value === "object" && value !== null) {
    if (SECRET_SIG in value) return out;
    Object.values(value).forEach((v) => plainStrings(v, out));
  }
  return out;
}
const isSecret = (v: unknown) => typeof v === "object" && v !== null && SECRET_SIG in v;

const base = {
  k3s: { enable: true, serverAddr: "https://192.0.2.10:6443", tokenSecret: "k3sToken" },
  hosts: [
    { name: "cp1", role: "control-plane", address: "192.0.2.10", hostKey: HOST_KEYS[0] },
    { name: "w1", role: "worker", address: "192.0.2.11", hostKey: HOST_KEYS[1] },
    { name: "w2", role: "worker", address: "192.0.2.12", hostKey: HOST_KEYS[2] },
  ],
};
const noout = { before: [{ host: "cp1", command: "ceph osd set noout" }], after: [{ host: "cp1", command: "ceph osd unset noout" }] };

describe("rollout hooks and bootstraps under Pulumi's mocks", () => {
  it("declares no command resource, nor a generated key, for an inventory without hooks or bootstraps", async () => {
    const regs = await run(base);
    assert.deepEqual(regs.filter((r) => r.type.startsWith("command:") || r.type.endsWith("GeneratedHostKey")), []);
    assert.deepEqual(regs.filter((r) => r.name === "cp1" || r.name === "fleet").map((r) => r.name).sort(), ["cp1", "fleet"], "the fleet itself is declared");
  });

  it("keeps the dev stack's inventory (inventory/dev.yaml for the simulated fleet) free of commands", () => {
    const inv = loadInventory({ inventory: devInventoryText(), projectDir: REPO }, memoryIo(REPO, {}, true));
    assert.equal(wantsCommands(planCommands(inv)), false);
  });

  it("runs `before` after every build and before the first wave, `after` once every host is done, over SSH with the pinned key", async () => {
    const regs = await run({ ...base, rollout: noout });
    const before = byName(regs, "rollout-before-0", /^command:remote:Command$/);
    const after = byName(regs, "rollout-after-0", /^command:remote:Command$/);
    assert.equal(before.inputs.create, "ceph osd set noout");
    assert.equal(after.inputs.create, "ceph osd unset noout");
    assert.deepEqual([...before.deps].sort(), ["FleetBuild/fleet"], "before waits for the build only");
    const cp1 = regs.filter((r) => r.name === "cp1").find((r) => r.inputs.nixos !== undefined) ?? assert.fail("no NixosHost cp1");
    assert.ok(names(cp1.deps).includes("rollout-before-0"), `the first wave waits for the before hook: ${cp1.deps.join(", ")}`);
    const w1 = regs.filter((r) => r.name === "w1").find((r) => r.inputs.nixos !== undefined) ?? assert.fail("no NixosHost w1");
    assert.ok(!names(w1.deps).includes("rollout-before-0"), "later waves wait through the first");
    const hostUrns = regs.filter((r) => r.inputs.nixos !== undefined).map((r) => r.name).sort();
    assert.deepEqual(names(after.deps), hostUrns, "after waits for every host, so a failed rollout never reaches it");
    const c = before.inputs.connection;
    assert.deepEqual({ host: c.host, port: c.port, user: c.user, hostKey: c.hostKey }, { host: "192.0.2.10", port: 22, user: "root", hostKey: HOST_KEYS[0].split(" ").slice(0, 2).join(" ") });
    assert.equal(c.privateKey, loginKey(), "the hook logs in with fleet:sshPrivateKey");
    assert.ok(!plainStrings(before.wire).some((s) => s.includes("PRIVATE KEY")), "the login key goes to the engine as a secret only");
  });

  it("pins, for a hook on a host trusted on first use, the key its build trusted", async () => {
    const tofu = { ...base, rollout: { before: [{ host: "w1", command: "true" }] }, hosts: [base.hosts[0], { name: "w1", role: "worker", address: "192.0.2.11", ssh: { trustOnFirstUse: true } }, base.hosts[2]] };
    const regs = await run(tofu);
    assert.equal(byName(regs, "rollout-before-0").inputs.connection.hostKey, "ssh-ed25519 AAAA-trusted-by-w1");
  });

  it("triggers the hooks again when a host's rollout changes, and not otherwise", async () => {
    const trigger = async (inv: unknown) => {
      const regs = await run(inv);
      return [byName(regs, "rollout-before-0").inputs.triggers, byName(regs, "rollout-after-0").inputs.triggers];
    };
    const first = await trigger({ ...base, rollout: noout });
    assert.equal(first[0].length, 1);
    assert.deepEqual(first[0], first[1]);
    assert.deepEqual(await trigger({ ...base, rollout: noout }), first, "the same inventory: the same trigger");
    const changed = { ...base, rollout: noout, hosts: [base.hosts[0], { ...base.hosts[1], nix: { settings: { boot: { kernelParams: ["quiet"] } } } }, base.hosts[2]] };
    const second = await trigger(changed);
    assert.notDeepEqual(second[0], first[0], "a changed host re-runs the hooks");
  });

  it("refuses a hook on a host the inventory does not have, naming the config path", async () => {
    await assert.rejects(run({ ...base, rollout: { before: [{ host: "ceph1", command: "ceph osd set noout" }] } }), /rollout\.before\[0\]\.host: "ceph1" is not a host of the inventory \(cp1, w1, w2\)/);
  });

  it("bootstraps a new host before its build, with a generated key that stays secret and is pinned everywhere", async () => {
    const w2 = { name: "w2", role: "worker", address: "192.0.2.12", bootstrap: { nixosAnywhere: { flake: ".#w2" } } };
    const regs = await run({ ...base, rollout: { ...noout, after: [...noout.after, { host: "w2", command: "systemctl is-system-running" }] }, hosts: [base.hosts[0], base.hosts[1], w2] });
    const key = byName(regs, "w2-host-key");
    assert.deepEqual(key.secretOutputs, ["privateKey"], "the private key is a secret output of its resource");
    const pair = generated.get("w2-host-key") ?? assert.fail("no key generated");
    const install = byName(regs, "w2-bootstrap", /^command:local:Command$/);
    assert.match(install.inputs.create, /nixos-anywhere --flake '\.#w2' --extra-files "\$work\/extra" -i "\$work\/login-key" --ssh-port 22 root@192\.0\.2\.12/);
    assert.match(install.inputs.update, /runs only once/, "a changed input never installs again");
    assert.ok(isSecret(install.wire.environment), "the environment, with both private keys, is a secret");
    assert.equal(install.inputs.environment.FLEET_HOST_KEY, pair.privateKey);
    assert.equal(install.inputs.environment.FLEET_HOST_KEY_PUB, pair.publicKey);
    assert.ok(names(install.deps).includes("w2-host-key"));
    for (const r of regs) {
      const leaked = plainStrings(r.wire).filter((s) => s.includes(pair.privateKey.split("\n")[1]) || s.includes("kubeconfig-credential"));
      assert.deepEqual(leaked, [], `${r.type}/${r.name} carries a secret in plain text`);
    }
    const build = byName(regs, "fleet");
    const host = regs.find((r) => r.name === "w2" && r.inputs.nixos !== undefined) ?? assert.fail("no NixosHost w2");
    assert.ok(names(build.deps).includes("w2-bootstrap"), `the build waits for the install: ${build.deps.join(", ")}`);
    assert.equal(build.inputs.hosts.w2.ssh.hostKey, pair.publicKey, "the build pins the generated key");
    assert.equal(host.inputs.ssh.hostKey, pair.publicKey, "the host pins the generated key");
    assert.equal(host.inputs.ssh.trustOnFirstUse, false, "no trust on first use");
    assert.equal(byName(regs, "rollout-after-1").inputs.connection.hostKey, pair.publicKey, "a hook on the new host checks the generated key");
    const cp1 = regs.filter((r) => r.name === "cp1").find((r) => r.inputs.nixos !== undefined) ?? assert.fail("no NixosHost cp1");
    assert.ok(names(cp1.deps).includes("fleet"), "the first wave waits for the build, so for the install too");
  });

  it("installs one machine at a time: each bootstrap waits for the one before", async () => {
    const boot = (name: string, address: string) => ({ name, role: "worker", address, bootstrap: { nixosAnywhere: { configuration: "nix/new.nix", disko: "nix/disko.nix" } } });
    const regs = await run({ ...base, hosts: [base.hosts[0], boot("w1", "192.0.2.11"), boot("w2", "192.0.2.12")] });
    assert.deepEqual(names(byName(regs, "w1-bootstrap").deps).filter((d) => d.endsWith("-bootstrap")), []);
    assert.ok(names(byName(regs, "w2-bootstrap").deps).includes("w1-bootstrap"));
    assert.match(byName(regs, "w1-bootstrap").inputs.create, /--store-paths "\$disko" "\$system"/);
    assert.deepEqual(regs.filter((r) => r.type === "command:remote:Command"), [], "no hooks asked for, none declared");
  });
});
