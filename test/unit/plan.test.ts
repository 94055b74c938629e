import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { K3S_TOKEN_PATH } from "../../lib/inventory/defaults";
import { InventoryError, formatPath } from "../../lib/inventory/errors";
import { publicKeyOf } from "../../lib/inventory/loginKey";
import { planHosts, type PlanSecrets } from "../../lib/inventory/plan";
import { hostNixData } from "../../lib/inventory/resolve";
import { HOST_KEYS, inlineInventory, loginKey, memoryIo } from "./helpers/fixtures";

const TOKEN = "k3s-token-value-5f2c";
const KUBECONFIG = "apiVersion: v1\nkind: Config\n";

function k3sFleet(extra: Record<string, unknown> = {}) {
  return {
    k3s: { enable: true, tokenSecret: "k3sToken", serverAddr: "https://10.0.0.2:6443", clusterInit: true, extraFlags: ["--disable=traefik"] },
    kubernetes: { kubeconfigFile: "kube.yaml", watchedNamespaces: ["kube-system", "rook-ceph"] },
    health: { commands: [{ name: "ceph", command: "ceph health", passWhen: ["^HEALTH_OK"] }] },
    timeouts: { bootSeconds: 100 },
    hosts: [
      { name: "w1", address: "10.0.0.11", hostKey: `${HOST_KEYS[0]}`, labels: { "example.com/disk": "ssd" }, timeouts: { bootSeconds: 900 } },
      { name: "cp1", role: "control-plane", address: "10.0.0.1", hostKey: HOST_KEYS[1], ssh: { port: 2222, user: "admin" } },
      { name: "cp2", role: "control-plane", address: "10.0.0.2", ssh: { trustOnFirstUse: true }, nodeName: "cp2.example.com" },
    ],
    ...extra,
  };
}
const secrets = (over: Partial<PlanSecrets> = {}): PlanSecrets => ({ sshPrivateKey: loginKey(), values: { k3sToken: TOKEN }, ...over });
const io = (files: Record<string, string> = { "kube.yaml": KUBECONFIG }) => memoryIo("/project", files);

function planFailure(inv: ReturnType<typeof inlineInventory>, s: PlanSecrets, files?: Record<string, string>): Map<string, string> {
  try {
    planHosts(inv, s, io(files));
  } catch (error) {
    if (!(error instanceof InventoryError)) throw error;
    return new Map(error.issues.map((i) => [i.subject ?? formatPath(i.path), i.message]));
  }
  assert.fail("the plan succeeded, but it should have failed");
}

describe("plan: hosts in rollout order", () => {
  it("resolves every field of each host and orders control plane first", () => {
    const specs = planHosts(inlineInventory(k3sFleet()), secrets(), io());
    assert.deepEqual(specs.map((s) => s.name), ["cp1", "cp2", "w1"]);
    const [cp1, cp2, w1] = specs;
    assert.deepEqual([cp1.address, cp1.port, cp1.user, cp1.hostKey, cp1.trustOnFirstUse], ["10.0.0.1", 2222, "admin", HOST_KEYS[1].split(" ").slice(0, 2).join(" "), false]);
    assert.deepEqual([cp2.port, cp2.user, cp2.hostKey, cp2.trustOnFirstUse], [22, "root", "", true]);
    assert.equal(w1.sshPrivateKey, loginKey());
    assert.deepEqual([cp1.action, cp1.rebootPolicy], ["switch", "when-needed"]);
    assert.deepEqual(cp2.kubernetes, { kubeconfig: KUBECONFIG, nodeName: "cp2.example.com" });
    assert.deepEqual(w1.gates, { nodesReady: true, watchedNamespaces: ["kube-system", "rook-ceph"], commands: [{ name: "ceph", command: "ceph health", exitCode: 0, passWhen: ["^HEALTH_OK"] }] });
    assert.equal(cp1.timeouts.bootSeconds, 100);
    assert.equal(w1.timeouts.bootSeconds, 900);
    assert.equal(w1.timeouts.rebuildSeconds, 1800);
  });

  it("puts the k3s token in a secret file, never in the rendered files", () => {
    for (const spec of planHosts(inlineInventory(k3sFleet()), secrets(), io())) {
      assert.deepEqual(spec.secretFiles, { [K3S_TOKEN_PATH]: TOKEN });
      for (const [name, text] of Object.entries(spec.files)) assert.ok(!text.includes(TOKEN), `${spec.name}: ${name} holds the token`);
      assert.match(spec.files["fleet/host.nix"], /tokenFile = "\/var\/lib\/nixos-fleet\/secrets\/k3s-token";/);
    }
    const noK3s = planHosts(inlineInventory({ ...k3sFleet(), k3s: {} }), secrets(), io());
    assert.deepEqual(noK3s[0].secretFiles, {});
  });

  it("authorizes the login key on every host, once", () => {
    const pub = publicKeyOf(loginKey());
    const listed = k3sFleet({ ssh: { authorizedKeys: [`${pub} already-listed`] } });
    for (const inv of [inlineInventory(k3sFleet()), inlineInventory(listed)]) {
      for (const spec of planHosts(inv, secrets(), io())) assert.equal(spec.files["fleet/host.nix"].split(pub).length - 1, 1, spec.name);
    }
  });

  it("starts the cluster from the server serverAddr points at; the others join it", () => {
    const inv = inlineInventory(k3sFleet());
    const keys: string[] = [];
    const k3s = Object.fromEntries(inv.hosts.map((h) => [h.name, hostNixData(inv, h, keys).k3s]));
    assert.deepEqual([k3s.cp2.serverAddr, k3s.cp2.clusterInit, k3s.cp2.role], ["", true, "server"]);
    assert.deepEqual([k3s.cp1.serverAddr, k3s.cp1.clusterInit, k3s.cp1.role], ["https://10.0.0.2:6443", false, "server"]);
    assert.deepEqual([k3s.w1.serverAddr, k3s.w1.clusterInit, k3s.w1.role], ["https://10.0.0.2:6443", false, "agent"]);
    const viaVip = inlineInventory(k3sFleet({ k3s: { enable: true, tokenSecret: "k3sToken", serverAddr: "https://api.example.com:6443" } }));
    assert.equal(hostNixData(viaVip, viaVip.hosts[1], keys).k3s.serverAddr, "", "first control plane in rollout order");
  });

  it("drops the Kubernetes target and its gates when kubernetes is disabled", () => {
    const [spec] = planHosts(inlineInventory(k3sFleet({ kubernetes: { enabled: false } })), secrets(), io({}));
    assert.equal(spec.kubernetes, undefined);
    assert.deepEqual([spec.gates.nodesReady, spec.gates.watchedNamespaces], [false, []]);
  });
});

describe("plan: secrets and files", () => {
  it("names each missing secret with the command that sets it, all at once", () => {
    const found = planFailure(inlineInventory(k3sFleet()), { values: {} }, {});
    assert.equal(found.get("fleet:sshPrivateKey"), "not set; the rollout logs in with it. Store it with `pulumi config set --secret fleet:sshPrivateKey < ~/.ssh/id_ed25519`");
    assert.equal(
      found.get("k3s.tokenSecret"),
      "names the secret \"k3sToken\", which is not set; store the cluster token with `pulumi config set --secret --path 'fleet:secrets.k3sToken' <token>`",
    );
    assert.equal(
      found.get("kubernetes.kubeconfigFile"),
      "kube.yaml does not exist (looked for /project/kube.yaml, relative to the project folder /project (where Pulumi.yaml is)); check the spelling or put the kubeconfig there " +
        "(on a k3s server it is /etc/rancher/k3s/k3s.yaml; set its server: to an address this machine reaches), or store it as secret config instead " +
        "(`pulumi config set --secret fleet:kubeconfig < kubeconfig.yaml` and remove kubernetes.kubeconfigFile), or set kubernetes.enabled: false",
    );
    assert.equal(found.size, 3);
  });

  it("asks for a kubeconfig while kubernetes is enabled, and takes it from secret config", () => {
    const inv = inlineInventory(k3sFleet({ kubernetes: {} }));
    assert.match(planFailure(inv, secrets(), {}).get("kubernetes.kubeconfigFile") ?? "", /required while kubernetes\.enabled is true.*fleet:kubeconfig/);
    assert.equal(planHosts(inv, secrets({ kubeconfig: "from-secret" }), io({}))[0].kubernetes?.kubeconfig, "from-secret");
  });

  it("rejects a private key it cannot read, and an empty secret", () => {
    const found = planFailure(inlineInventory(k3sFleet()), secrets({ sshPrivateKey: "-----BEGIN NONSENSE-----", values: { k3sToken: "" } }));
    assert.match(found.get("fleet:sshPrivateKey") ?? "", /is not a usable private key \(.*\); give an unencrypted OpenSSH or PEM key/);
    assert.match(found.get("k3s.tokenSecret") ?? "", /which is empty/);
  });

  it("refuses a login key whose public half no host would accept, as a config error", () => {
    const weak = generateKeyPairSync("rsa", { modulusLength: 512, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
    const found = planFailure(inlineInventory(k3sFleet()), secrets({ sshPrivateKey: weak }));
    assert.equal(
      found.get("fleet:sshPrivateKey"),
      "its public key is refused: its modulus is 512 bits; OpenSSH takes RSA keys of 1024 to 16384 bits; make a new one with `ssh-keygen -t ed25519`",
    );
  });

  it("names the inventory path of a module it cannot read", () => {
    const inv = inlineInventory(k3sFleet({ nix: { imports: ["modules/a.nix"] } }));
    assert.equal(
      planFailure(inv, secrets()).get("nix.imports[0]"),
      "the module modules/a.nix does not exist (looked for /project/modules/a.nix, relative to the project folder /project (where Pulumi.yaml is)); check the spelling, create the module there, or remove the entry",
    );
  });

  it("says when a named file is there but cannot be read, and what to do", () => {
    const inv = inlineInventory(k3sFleet({ nix: { imports: ["modules/a.nix"] } }));
    const files = io();
    const denied = {
      readFile(p: string): string {
        if (p.endsWith("a.nix")) throw Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: "EACCES" });
        return files.readFile(p);
      },
      readTree: files.readTree,
    };
    assert.throws(
      () => planHosts(inv, secrets(), denied),
      (e: unknown) =>
        e instanceof InventoryError &&
        e.issues.length === 1 &&
        formatPath(e.issues[0].path) === "nix.imports[0]" &&
        e.issues[0].message === "the module modules/a.nix is not readable (/project/modules/a.nix: permission denied); make it readable by the user who runs pulumi",
    );
  });
});
