import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { loadInventory } from "../../lib/inventory/load";
import { planHosts, type PlanSecrets } from "../../lib/inventory/plan";
import { hostNixData } from "../../lib/inventory/resolve";
import type { Inventory } from "../../lib/inventory/types";
import { renderHostFiles } from "../../lib/render/render";
import type { HostSpec } from "../../lib/rollout/spec";
import { fleetInventoryObject } from "../../sim/inventory";
import { HOST_KEYS, REPO, SIM_FLEET, devInventoryText, loginKey, memoryIo } from "./helpers/fixtures";
import { nixEvalJson, nixParse } from "./helpers/nix";

const TOKEN = "Sup3rSecretJoinToken-9d1e";
const KUBECONFIG_SECRET = "client-key-data: S3CRETKUBE";

type Edit = (doc: { hosts: Record<string, unknown>[] } & Record<string, unknown>) => void;

/** Loads an example inventory (optionally edited) the way the program would, with fake secrets. */
function example(name: "prod" | "dev", edit?: Edit): { inv: Inventory; specs: HostSpec[] } {
  const files: Record<string, string> = {
    ".sim/inventory.yaml": devInventoryText(),
    [path.relative(REPO, "/state/kubeconfig")]: KUBECONFIG_SECRET,
  };
  const io = memoryIo(REPO, files, true);
  const file = name === "prod" ? "examples/prod-inventory.yaml" : "inventory/dev.yaml";
  let input: Parameters<typeof loadInventory>[0] = { inventoryFile: name === "dev" ? ".sim/inventory.yaml" : file, projectDir: REPO };
  if (edit) {
    // Edit a copy of the parsed YAML and pass it as stack config: same schema, same result.
    const doc = JSON.parse(JSON.stringify(loadYaml(path.join(REPO, file))));
    edit(doc);
    input = { inventory: name === "dev" ? fleetInventoryObject(doc, SIM_FLEET, "/state") : doc, projectDir: REPO };
  }
  const inv = loadInventory(input, io);
  const secrets: PlanSecrets = { sshPrivateKey: loginKey(), values: { k3sToken: TOKEN }, kubeconfig: KUBECONFIG_SECRET };
  return { inv, specs: planHosts(inv, secrets, io) };
}

function loadYaml(file: string): unknown {
  return parseYaml(fs.readFileSync(file, "utf8"));
}

function changedLines(a: string, b: string): [string, string][] {
  const x = a.split("\n");
  const y = b.split("\n");
  assert.equal(x.length, y.length, "a one-value change keeps the line count");
  return x.flatMap((line, i) => (line === y[i] ? [] : [[line, y[i]] as [string, string]]));
}

describe("render: the files of each host", () => {
  let both: { inv: Inventory; specs: HostSpec[] }[];
  before(() => {
    both = [example("prod"), example("dev")];
  });

  it("orders hosts control plane first", () => {
    assert.deepEqual(both[0].specs.map((s) => s.name), ["cp1", "cp2", "cp3", "w1", "w2"]);
    assert.deepEqual(both[1].specs.map((s) => s.name), ["srv1", "srv2", "srv3"]);
  });

  it("is deterministic: the same input gives byte-identical files", () => {
    assert.deepEqual(example("prod").specs.map((s) => s.files), both[0].specs.map((s) => s.files));
    const inv = both[0].inv;
    const data = hostNixData(inv, inv.hosts[3], ["k"]);
    const reversed = JSON.parse(JSON.stringify(data, (_k, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)));
    const statics = { "base.nix": "b", "k3s.nix": "k", "guard.nix": "g" } as const;
    assert.deepEqual(renderHostFiles({ data: reversed, staticModules: statics, userModules: [] }), renderHostFiles({ data, staticModules: statics, userModules: [] }));
  });

  it("writes a configuration.nix that imports the hardware configuration and every fleet module", () => {
    const w1 = both[0].specs[3];
    assert.deepEqual(Object.keys(w1.files), ["configuration.nix", "fleet/host.nix", "fleet/base.nix", "fleet/k3s.nix", "fleet/guard.nix", "fleet/user/examples/modules/node-exporter.nix"]);
    assert.match(w1.files["configuration.nix"], /^# managed by nixos-fleet/);
    assert.match(w1.files["configuration.nix"], /imports = \[\n {4}\.\/hardware-configuration\.nix\n {4}\.\/fleet\/base\.nix\n {4}\.\/fleet\/k3s\.nix\n {4}\.\/fleet\/guard\.nix\n {4}\.\/fleet\/user\/examples\/modules\/node-exporter\.nix\n {2}\];/);
    assert.equal(w1.files["fleet/user/examples/modules/node-exporter.nix"], fs.readFileSync(path.join(REPO, "examples/modules/node-exporter.nix"), "utf8"));
    assert.equal(w1.files["fleet/base.nix"], fs.readFileSync(path.join(REPO, "nix/base.nix"), "utf8"));
    assert.equal(w1.files["fleet/guard.nix"], fs.readFileSync(path.join(REPO, "nix/guard.nix"), "utf8"));
    assert.ok(!("hardware-configuration.nix" in w1.files), "the host's own hardware configuration is never overwritten");
  });

  it("renders files that the real Nix parser accepts", () => {
    const unique = new Map<string, string>();
    for (const { specs } of both) for (const s of specs) for (const [name, text] of Object.entries(s.files)) unique.set(text, `${s.name}:${name}`);
    assert.ok(unique.size >= 10, `only ${unique.size} distinct files`);
    for (const [text, where] of unique) assert.doesNotThrow(() => nixParse(text, "/"), where);
  });

  it("renders a host.nix that evaluates to exactly the host's data", () => {
    for (const { inv, specs } of both) {
      for (const spec of specs) {
        const host = inv.hosts.find((h) => h.name === spec.name);
        assert.ok(host);
        const evaluated = nixEvalJson(spec.files["fleet/host.nix"]) as { ssh: { authorizedKeys: string[] } };
        const expected = JSON.parse(JSON.stringify(hostNixData(inv, host, evaluated.ssh.authorizedKeys)));
        assert.deepEqual(evaluated, expected, spec.name);
      }
    }
    const w1 = nixEvalJson(both[0].specs[3].files["fleet/host.nix"]) as Record<string, Record<string, unknown>>;
    assert.deepEqual(w1.settings.hardware, { cpu: { amd: { updateMicrocode: false }, intel: { updateMicrocode: true } } });
    assert.deepEqual(w1.network.ipv4Addresses, [{ address: "172.30.190.11", prefixLength: 24 }]);
  });

  it("never puts a secret into a rendered file", () => {
    const key = loginKey();
    const keyBody = key.split("\n")[5];
    for (const { specs } of both) {
      for (const spec of specs) {
        for (const [name, text] of Object.entries(spec.files)) {
          for (const secret of [TOKEN, KUBECONFIG_SECRET, keyBody]) assert.ok(!text.includes(secret), `${spec.name} ${name} holds a secret`);
        }
      }
    }
  });

  it("changes exactly one line of one host for a one-setting change of that host", () => {
    const before = both[0].specs;
    const after = example("prod", (doc) => (doc.hosts[4].nix = { settings: { time: { timeZone: "Europe/Paris" } } })).specs;
    for (let i = 0; i < before.length; i++) {
      for (const name of Object.keys(before[i].files)) {
        if (before[i].name === "w2" && name === "fleet/host.nix") continue;
        assert.equal(after[i].files[name], before[i].files[name], `${before[i].name} ${name} changed`);
      }
    }
    assert.deepEqual(changedLines(before[4].files["fleet/host.nix"], after[4].files["fleet/host.nix"]), [['      timeZone = "UTC";', '      timeZone = "Europe/Paris";']]);
  });

  it("changes the same line on every host for a fleet-wide change, and only there", () => {
    const before = both[0].specs;
    const after = example("prod", (doc) => ((doc.nix as { stateVersion: string }).stateVersion = "24.11")).specs;
    for (let i = 0; i < before.length; i++) {
      assert.deepEqual(changedLines(before[i].files["fleet/host.nix"], after[i].files["fleet/host.nix"]), [['  stateVersion = "24.05";', '  stateVersion = "24.11";']]);
      assert.equal(after[i].files["configuration.nix"], before[i].files["configuration.nix"]);
    }
  });

  it("leaves every host's files alone for a new label or taint: those reach the Node through the API", () => {
    const before = both[1].specs;
    const after = example("dev", (doc) => {
      (doc.hosts[1].labels as Record<string, string>)["example.com/tier"] = "gold";
      doc.hosts[1].taints = [{ key: "gpu", effect: "NoSchedule" }];
    }).specs;
    assert.deepEqual(after.map((s) => s.files), before.map((s) => s.files));
  });
});
