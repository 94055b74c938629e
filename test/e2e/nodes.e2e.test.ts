/**
 * End to end with the real Pulumi CLI, the Kubernetes provider plugin built from its Go module
 * (scripts/install-kubernetes-provider.sh) and the simulated fleet's real API server: the
 * inventory's labels and taints reach the Node as a NodePatch once the host's rollout is done,
 * a changed label shows in `pulumi preview --diff`, a label or taint dropped from the inventory
 * is removed, and a label someone else set stays. A label change rebuilds no host.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings } from "../../sim/types";
import { inventoryBase } from "./helpers/inventory";
import { configureForFleet, PulumiStack } from "./helpers/pulumi";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const TOKEN = "e2e-join-token-0d7e41c2";
const PROJECT = path.resolve(__dirname, "../../..");
const PLUGIN_VERSION = require("@pulumi/kubernetes/package.json").version as string;

const inventory = {
  ...inventoryBase({ readySeconds: 8, watchedNamespaces: ["kube-system"] }),
  hosts: [
    { name: "srv1", role: "control-plane" },
    {
      name: "srv2",
      role: "worker",
      labels: { "example.com/pool": "gpu", zone: "a" },
      taints: [{ key: "example.com/gpu", value: "yes", effect: "NoSchedule" }],
    },
  ],
};

interface NodeObject {
  metadata: { labels?: Record<string, string>; managedFields?: { manager: string; operation: string }[] };
  spec: { taints?: { key: string; value?: string; effect: string }[] };
}

/** One line of `pulumi up --event-log`: only what is read here. */
interface EngineEvent {
  resourcePreEvent?: { metadata: { urn: string; op: string } };
  resOutputsEvent?: { metadata: { urn: string; op: string } };
}

describe("pulumi CLI end to end: Node labels and taints as NodePatch resources", function () {
  this.timeout(900_000);
  let work: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let stack: PulumiStack;

  const kubectl = (...args: string[]) => execFileSync("kubectl", ["--kubeconfig", fj.kubeconfig, ...args], { encoding: "utf8", timeout: 30_000 });
  const node = (name: string) => JSON.parse(kubectl("get", "node", name, "-o", "json", "--show-managed-fields")) as NodeObject;
  const builds = (since: number) => fleet.timeline().filter((e) => e.t >= since && e.kind === "build-started").length;

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    assert.ok(fs.existsSync(path.join(PROJECT, "dist/index.js")), "build first: npm run build");
    const plugins = execFileSync("pulumi", ["plugin", "ls", "--json"], { encoding: "utf8" });
    const installed = (JSON.parse(plugins) as { name: string; kind: string; version: string }[]).some((p) => p.name === "kubernetes" && p.kind === "resource" && p.version === PLUGIN_VERSION);
    assert.ok(installed, `the kubernetes ${PLUGIN_VERSION} plugin is not installed in ${process.env.PULUMI_HOME}: bash scripts/install-kubernetes-provider.sh builds and installs it`);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-e2e-nodes-"));
    fleet = await SimFleet.start({ stateDir: path.join(work, "sim"), hosts: 2, timings: TIMINGS });
    fj = fleet.fleetJson;
    stack = new PulumiStack(PROJECT, work, "e2enodes", "e2e-passphrase");
    await stack.ok(["stack", "init", "--secrets-provider", "passphrase"]);
    // `stack init` writes the stack's encryption salt beside Pulumi.yaml; keep the checkout clean.
    fs.renameSync(path.join(PROJECT, "Pulumi.e2enodes.yaml"), stack.configFile);
    await configureForFleet(stack, inventory, fj);
    await stack.ok(["config", "set", "--secret", "--path", "fleet:secrets.k3sToken", TOKEN]);
    // The kubeconfig as a user stores it: a secret in the stack config (it takes precedence over the file).
    await stack.ok(["config", "set", "--secret", "fleet:kubeconfig", fs.readFileSync(fj.kubeconfig, "utf8")]);
  });

  after(async function () {
    fs.rmSync(path.join(PROJECT, "Pulumi.e2enodes.yaml"), { force: true });
    await fleet?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("labels and taints the Node under its own field manager, only after the host's rollout", async () => {
    const preview = await stack.ok(["preview", "--diff"]);
    assert.match(preview.stdout, /\+ kubernetes:core\/v1:NodePatch: \(create\)[\s\S]*?urn=\S*NodePatch::srv2\]/, preview.stdout);
    assert.doesNotMatch(preview.stdout, /NodePatch::srv1\]/, "srv1 has neither labels nor taints");

    // The engine's event log, in the order the engine emitted them (--event-log needs PULUMI_DEBUG_COMMANDS).
    stack.env.PULUMI_DEBUG_COMMANDS = "true";
    const log = path.join(work, "up-events.jsonl");
    await stack.ok(["up", "--yes", "--skip-preview", "--event-log", log]);
    const events = fs.readFileSync(log, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as EngineEvent);
    const hostDone = events.findIndex((e) => /NixosHost::srv2$/.test(e.resOutputsEvent?.metadata.urn ?? ""));
    const patchStarts = events.findIndex((e) => /NodePatch::srv2$/.test(e.resourcePreEvent?.metadata.urn ?? ""));
    assert.ok(hostDone >= 0 && patchStarts >= 0, "the event log names srv2's host and its NodePatch");
    assert.ok(patchStarts > hostDone, `the NodePatch of srv2 started (event ${patchStarts}) before its host's rollout ended (event ${hostDone})`);

    const n = node("srv2");
    assert.equal(n.metadata.labels?.["example.com/pool"], "gpu");
    assert.equal(n.metadata.labels?.zone, "a");
    assert.deepEqual(n.spec.taints, [{ key: "example.com/gpu", value: "yes", effect: "NoSchedule" }]);
    const managers = (n.metadata.managedFields ?? []).filter((f) => f.manager === "nixos-fleet").map((f) => f.operation);
    assert.deepEqual(managers, ["Apply"], "applied server-side under the field manager nixos-fleet");
  });

  it("shows a changed label in preview, applies it without rebuilding the host, and keeps a label someone else set", async () => {
    kubectl("label", "node", "srv2", "example.com/owner=ops");
    await stack.ok(["config", "set", "--path", "fleet:inventory.hosts[1].labels.zone", "b"]);
    const preview = await stack.ok(["preview", "--diff"]);
    assert.match(preview.stdout, /~ kubernetes:core\/v1:NodePatch: \(update\)[\s\S]*?urn=\S*NodePatch::srv2\]/, preview.stdout);
    assert.match(preview.stdout, /~ zone\s*: "a" => "b"/, preview.stdout);
    const since = Date.now();
    await stack.ok(["up", "--yes", "--skip-preview"]);
    assert.equal(builds(since), 0, "a label is no part of the host's NixOS configuration");
    const labels = node("srv2").metadata.labels ?? {};
    assert.equal(labels.zone, "b");
    assert.equal(labels["example.com/owner"], "ops", "the label set with kubectl stays");
  });

  it("removes a label and the taints dropped from the inventory, and only those", async () => {
    await stack.ok(["config", "rm", "--path", 'fleet:inventory.hosts[1].labels["example.com/pool"]']);
    await stack.ok(["config", "rm", "--path", "fleet:inventory.hosts[1].taints"]);
    const preview = await stack.ok(["preview", "--diff"]);
    assert.match(preview.stdout, /- "?example\.com\/pool"?\s*: "gpu"/, preview.stdout);
    await stack.ok(["up", "--yes", "--skip-preview"]);
    const n = node("srv2");
    assert.equal(n.metadata.labels?.["example.com/pool"], undefined, "the dropped label is gone");
    assert.deepEqual(n.spec.taints ?? [], [], "the dropped taint is gone");
    assert.equal(n.metadata.labels?.zone, "b");
    assert.equal(n.metadata.labels?.["example.com/owner"], "ops");
  });

  it("removes the rest of its labels when the host has none left, and still leaves the others'", async () => {
    await stack.ok(["config", "rm", "--path", "fleet:inventory.hosts[1].labels"]);
    await stack.ok(["up", "--yes", "--skip-preview"]);
    const labels = node("srv2").metadata.labels ?? {};
    assert.equal(labels.zone, undefined, "deleting the NodePatch released the label it owned");
    assert.equal(labels["example.com/owner"], "ops");
  });
});
