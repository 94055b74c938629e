/**
 * The bootstrap script (lib/commands/bootstrapScript.ts) run by bash against stand-ins for
 * kubectl, ssh, nix-build and nixos-anywhere on PATH (test/fakes/bootstrapTools.ts), so the
 * tests see what the script asks, in which order, and what it hands to nixos-anywhere.
 * test/integration/bootstrap.test.ts runs it with the real kubectl against a real API server.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { bootstrapScript } from "../../lib/commands/bootstrapScript";
import type { BootstrapPlan } from "../../lib/commands/plan";
import { generateEd25519KeyPair } from "../../lib/host/generateKey";
import { BOOTSTRAP_SYSTEM_HOST_PATHS, TIMEOUT_DEFAULTS } from "../../lib/inventory/defaults";
import { type Run, runBootstrapScript } from "../fakes/bootstrapTools";

const key = generateEd25519KeyPair("root@w2");

function plan(overrides: Partial<BootstrapPlan> = {}): BootstrapPlan {
  return {
    host: "w2",
    nodeName: "w2",
    source: { kind: "flake", flake: ".#w2" },
    discardHostPaths: [...BOOTSTRAP_SYSTEM_HOST_PATHS],
    drain: { force: false, deleteEmptyDirData: true },
    timeouts: TIMEOUT_DEFAULTS,
    ...overrides,
  };
}

/** Runs the script of `p` with every stand-in; `files` seed their answers (name → content). */
function run(p: BootstrapPlan, files: Record<string, string>): Run {
  return runBootstrapScript(bootstrapScript(p, { address: "192.0.2.12", port: 2222, user: "root" }), files, {
    FLEET_LOGIN_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----\nlogin\n-----END OPENSSH PRIVATE KEY-----",
    FLEET_HOST_KEY: key.privateKey,
    FLEET_HOST_KEY_PUB: key.publicKey,
    FLEET_KUBECONFIG: "apiVersion: v1\nkind: Config\n",
  });
}

const PODS = [
  "kube-system/flannel-x\t/run/flannel /etc/cni/net.d /lib/modules  ",
  "default/db-0\t/var/lib/db ",
  "default/web-1\t/var/cache/nginx ",
  "default/plain\t ",
  "",
].join("\n");

describe("the bootstrap script", () => {
  const dirs: string[] = [];
  const tracked = (r: Run) => (dirs.push(r.dir), r);
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("stops before draining or installing when a hostPath folder holds data, naming the pod, the folder and the option", () => {
    const r = tracked(run(plan(), { "node-exists": "", pods: PODS, "data-paths": "/var/lib/db\n" }));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /w2: bootstrap failed: these hostPath folders hold data, which the install would wipe:\n {2}default\/db-0: \/var\/lib\/db\n/);
    assert.match(r.stderr, /bootstrap\.discardHostPaths; nothing was changed/);
    assert.ok(!r.stderr.includes("/var/cache/nginx"), "an empty folder is no data");
    // Only folders that are not the system's own are looked at on the host.
    assert.deepEqual(r.log.filter((l) => l.startsWith("ssh ")), ["ssh /var/lib/db", "ssh /var/cache/nginx"]);
    assert.ok(!r.log.some((l) => /kubectl drain|kubectl delete|nixos-anywhere/.test(l)), r.log.join("\n"));
    assert.equal(fs.readFileSync(path.join(r.dir, "kubeconfig-seen"), "utf8"), "apiVersion: v1\nkind: Config\n");
  });

  it("with the data folder listed as discardable: drains, deletes the Node, then installs with the generated host key", () => {
    const r = tracked(run(plan({ discardHostPaths: [...BOOTSTRAP_SYSTEM_HOST_PATHS, "/var/lib/db"] }), { "node-exists": "", pods: PODS, "data-paths": "/var/lib/db\n" }));
    assert.equal(r.status, 0, r.stderr);
    const steps = r.log.filter((l) => !l.startsWith("ssh ") && !l.startsWith("kubectl get"));
    assert.deepEqual(steps.map((l) => l.split(" ").slice(0, 2).join(" ")), ["kubectl drain", "kubectl delete", "nixos-anywhere --flake"]);
    assert.match(steps[0], /^kubectl drain w2 --ignore-daemonsets --delete-emptydir-data --timeout=300s$/);
    assert.match(steps[2], /^nixos-anywhere --flake \.#w2 --extra-files \S+ -i \S+ --ssh-port 2222 root@192\.0\.2\.12$/);
    const installed = path.join(r.dir, "installed/etc/ssh");
    assert.equal(fs.readFileSync(path.join(installed, "ssh_host_ed25519_key"), "utf8"), `${key.privateKey}\n`);
    assert.equal(fs.readFileSync(path.join(installed, "ssh_host_ed25519_key.pub"), "utf8").trim(), key.publicKey);
    assert.equal((fs.statSync(path.join(installed, "ssh_host_ed25519_key")).mode & 0o777).toString(8), "600", "sshd refuses a host key others can read");
    assert.equal(fs.readFileSync(path.join(r.dir, "login-key-mode"), "utf8").trim(), "600");
    const extra = fs.readFileSync(path.join(r.dir, "extra-dir"), "utf8").trim();
    assert.ok(!fs.existsSync(extra), "the keys' temporary folder is removed");
  });

  it("installs at once when the cluster has no such Node (a machine new to the cluster)", () => {
    const r = tracked(run(plan(), {}));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /w2: no Node w2 in the cluster: nothing to drain/);
    assert.deepEqual(r.log.map((l) => l.split(" ").slice(0, 2).join(" ")), ["kubectl get", "nixos-anywhere --flake"]);
  });

  it("stops when the cluster cannot be asked, before anything changes", () => {
    const r = tracked(run(plan(), { "node-unreachable": "" }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /w2: bootstrap failed: cannot ask the cluster for Node w2: The connection to the server .* was refused.*nothing was changed/s);
    assert.ok(!r.log.some((l) => l.startsWith("nixos-anywhere")));
  });

  it("stops when the drain fails, saying how to undo the cordon, and never installs", () => {
    const r = tracked(run(plan(), { "node-exists": "", pods: "", "drain-fails": "" }));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /kubectl drain w2 failed .*kubectl uncordon w2.*the install did not start/);
    assert.ok(!r.log.some((l) => /kubectl delete|nixos-anywhere/.test(l)));
  });

  it("without Kubernetes asks no cluster", () => {
    const { nodeName: _n, ...noNode } = plan();
    const r = tracked(run(noNode, {}));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.log.map((l) => l.split(" ")[0]), ["nixos-anywhere"]);
  });

  it("from a configuration module: builds the system and the disko script, then installs those store paths", () => {
    const r = tracked(run(plan({ nodeName: undefined, source: { kind: "configuration", configuration: "nix/w2.nix", disko: "nix/disko-w2.nix" } }), {}));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.log.slice(0, 2), ["nix-build system", "nix-build disko"]);
    assert.match(r.log[2], /^nixos-anywhere --store-paths \/nix\/store\/aaaa-disko \/nix\/store\/aaaa-system --extra-files/);
    const script = bootstrapScript(plan({ source: { kind: "configuration", configuration: "nix/w2.nix", disko: "nix/disko-w2.nix" } }), { address: "a", port: 22, user: "root" });
    assert.match(script, /imports = \[ \.\/nix\/w2\.nix <disko\/module\.nix> \.\/nix\/disko-w2\.nix \]/);
  });
});
