/**
 * The bootstrap script's precautions with the real kubectl against a real API server
 * (sim/controlplane): the hostPath volumes it reads from the pods bound to the old Node, the
 * drain kubectl really does (and refuses), and the Node's removal. ssh and nixos-anywhere are
 * stand-ins (test/fakes/bootstrapTools.ts): the old system's folders and the install are not
 * what is tested here. Without the control-plane binaries the suite fails with the command
 * that builds them.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bootstrapScript } from "../../lib/commands/bootstrapScript";
import type { BootstrapPlan } from "../../lib/commands/plan";
import { generateEd25519KeyPair } from "../../lib/host/generateKey";
import { BOOTSTRAP_SYSTEM_HOST_PATHS, TIMEOUT_DEFAULTS } from "../../lib/inventory/defaults";
import { type ControlPlaneBinaries, requireBinaries } from "../../sim/controlplane/binaries";
import { ControlPlane, locateBinaries } from "../../sim/controlplane/index";
import { type Run, runBootstrapScript } from "../fakes/bootstrapTools";
import { kubectl } from "./helpers/controlplane-harness";

const key = generateEd25519KeyPair("root@old");

function plan(node: string, overrides: Partial<BootstrapPlan> = {}): BootstrapPlan {
  return {
    host: node,
    nodeName: node,
    source: { kind: "flake", flake: `.#${node}` },
    discardHostPaths: [...BOOTSTRAP_SYSTEM_HOST_PATHS],
    drain: { force: false, deleteEmptyDirData: false },
    timeouts: { ...TIMEOUT_DEFAULTS, drainSeconds: 20 },
    ...overrides,
  };
}

/** A pod bound to `node` (as the scheduler would bind it) with hostPath volumes at `paths` and an emptyDir. */
function pod(name: string, node: string, paths: readonly string[]) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName: node,
      containers: [{ name: "app", image: "registry.invalid/app:1", volumeMounts: paths.map((_, i) => ({ name: `v${i}`, mountPath: `/data/${i}` })) }],
      volumes: [...paths.map((p, i) => ({ name: `v${i}`, hostPath: { path: p } })), { name: "scratch", emptyDir: {} }],
    },
  };
}

describe("the bootstrap script against a real API server", function () {
  this.timeout(180_000);
  let bins: ControlPlaneBinaries;
  let dir: string;
  let cp: ControlPlane | undefined;
  const runs: Run[] = [];
  const k = (args: readonly string[]) => kubectl(bins.kubectl, cp!.kubeconfigPath, args);
  const apply = async (obj: unknown) => {
    const file = path.join(dir, `obj-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(obj));
    const r = await k(["apply", "-f", file]);
    assert.equal(r.code, 0, r.stderr);
  };
  const node = (name: string) => apply({ apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name } } });
  /** A Node `name` with pods: one with data in a hostPath folder, one with the system's folders, one with an empty folder. */
  const oldNode = async (name: string) => {
    await node(name);
    await apply(pod(`${name}-db`, name, ["/var/lib/db"]));
    await apply(pod(`${name}-cni`, name, ["/etc/cni/net.d", "/run/flannel"]));
    await apply(pod(`${name}-cache`, name, ["/var/cache/app"]));
  };
  const bootstrap = (p: BootstrapPlan, files: Record<string, string>) => {
    const r = runBootstrapScript(bootstrapScript(p, { address: "192.0.2.40", port: 22, user: "root" }), files, {
      PATH: `${path.dirname(bins.kubectl)}:${process.env.PATH}`,
      FLEET_LOGIN_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----\nlogin\n-----END OPENSSH PRIVATE KEY-----",
      FLEET_HOST_KEY: key.privateKey,
      FLEET_HOST_KEY_PUB: key.publicKey,
      FLEET_KUBECONFIG: fs.readFileSync(cp!.kubeconfigPath, "utf8"),
      HOME: dir,
    }, ["ssh", "nixos-anywhere"]);
    runs.push(r);
    return r;
  };

  before(async function () {
    bins = requireBinaries(locateBinaries());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-test-"));
    cp = await ControlPlane.start({ dataDir: path.join(dir, "data"), kubeconfigPath: path.join(dir, "kubeconfig") });
  });

  after(async () => {
    await cp?.stop();
    for (const r of runs) fs.rmSync(r.dir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads the hostPath folders of the pods on the Node, asks only about those not the system's, and stops on one with data", async () => {
    await oldNode("old1");
    await apply(pod("elsewhere", "other", ["/srv/data"]));
    const r = bootstrap(plan("old1"), { "data-paths": "/var/lib/db\n" });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /old1: bootstrap failed: these hostPath folders hold data, which the install would wipe:\n {2}default\/old1-db: \/var\/lib\/db\n/);
    assert.deepEqual(r.log.filter((l) => l.startsWith("ssh ")).sort(), ["ssh /var/cache/app", "ssh /var/lib/db"], "the pods of this Node only, without the system's folders");
    assert.ok(!r.log.some((l) => l.startsWith("nixos-anywhere")));
    const n = await k(["get", "node", "old1", "-o", "jsonpath={.spec.unschedulable}"]);
    assert.equal(n.stdout, "", "nothing was changed: the Node is not even cordoned");
  });

  it("with that folder discardable: kubectl drain cordons, then refuses pods with local storage the policy does not allow; no install starts", async () => {
    await oldNode("old3");
    const r = bootstrap(plan("old3", { discardHostPaths: [...BOOTSTRAP_SYSTEM_HOST_PATHS, "/var/lib/db"] }), { "data-paths": "/var/lib/db\n" });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cannot delete Pods with local storage \(use --delete-emptydir-data to override\): default\/old3-cache, default\/old3-cni, default\/old3-db/, "kubectl's own refusal is shown");
    assert.match(r.stderr, /old3: bootstrap failed: kubectl drain old3 failed .*kubectl uncordon old3 to undo; the install did not start/);
    assert.ok(!r.log.some((l) => l.startsWith("nixos-anywhere")));
    const n = await k(["get", "node", "old3", "-o", "jsonpath={.spec.unschedulable}"]);
    assert.equal(n.stdout, "true", "the drain cordoned the Node, as the message says");
  });

  it("drains a Node with nothing on it, deletes it, then installs", async () => {
    await node("old2");
    const r = bootstrap(plan("old2"), {});
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /old2: draining Node old2/);
    assert.match(r.log.find((l) => l.startsWith("nixos-anywhere")) ?? "", /^nixos-anywhere --flake \.#old2 --extra-files \S+ -i \S+ --ssh-port 22 root@192\.0\.2\.40$/);
    const gone = await k(["get", "node", "old2"]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound/);
  });

  it("installs a machine the cluster does not know without touching the cluster", async () => {
    const r = bootstrap(plan("new1"), {});
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /new1: no Node new1 in the cluster: nothing to drain/);
    assert.equal(r.log.filter((l) => l.startsWith("nixos-anywhere")).length, 1);
  });
});
