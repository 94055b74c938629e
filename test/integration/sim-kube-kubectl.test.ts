/**
 * The simulated Kubernetes API server driven by the real kubectl (optional: skipped, saying
 * why, when no kubectl is installed).
 */
import * as assert from "node:assert/strict";
import type { Cluster } from "../../lib/cluster/cluster";
import { kubeCluster } from "../../lib/cluster/kube";
import { type SimHarness, bootAll, findKubectl, kubectl, startSim } from "./helpers/kube-harness";

describe("simulated Kubernetes API server with the real kubectl", function () {
  let bin: string;
  let h: SimHarness | undefined;
  let cluster: Cluster;

  before(function () {
    const found = findKubectl();
    if (found === undefined) {
      // kubectl is optional on a development machine; the client-node suite covers the API without it.
      console.log("    (kubectl not found on PATH or in /usr/bin: install kubectl 1.32 to run these tests)");
      this.skip();
    }
    bin = found;
  });

  beforeEach(async () => {
    h = await startSim();
    cluster = kubeCluster(h.kubeconfig, { requestTimeoutMs: 5000 });
    await bootAll(h);
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  const run = (args: readonly string[], timeoutMs?: number) => kubectl(bin, h!, args, timeoutMs);

  it("get nodes prints the server's table", async () => {
    const r = await run(["get", "nodes"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    assert.match(r.stdout, /^cp1\s+Ready\s+control-plane\s+\S+\s+v1\.32\.4$/m);
    assert.match(r.stdout, /^w1\s+Ready\s+<none>\s+\S+\s+v1\.32\.4$/m);
    h!.sim.hostDown("w2");
    assert.match((await run(["get", "nodes"])).stdout, /^w2\s+NotReady\s+/m);
  });

  it("get pods -A --field-selector spec.nodeName=w1 lists exactly that node's pods", async () => {
    const r = await run(["get", "pods", "-A", "--field-selector", "spec.nodeName=w1", "-o", "wide"]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/));
    const expected = (await cluster.listPodsOnNode("w1")).map((p) => `${p.namespace}/${p.name}`).sort();
    assert.deepEqual(rows.map((c) => `${c[0]}/${c[1]}`).sort(), expected);
    assert.ok(rows.every((c) => c[2] === "1/1" && c[3] === "Running" && c.includes("w1")), r.stdout);
  });

  it("cordon and uncordon", async () => {
    const c = await run(["cordon", "w1"]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.trim(), "node/w1 cordoned");
    assert.equal((await cluster.getNode("w1"))?.unschedulable, true);
    assert.match((await run(["get", "nodes"])).stdout, /^w1\s+Ready,SchedulingDisabled\s+/m);
    const u = await run(["uncordon", "w1"]);
    assert.equal(u.stdout.trim(), "node/w1 uncordoned");
    assert.equal((await cluster.getNode("w1"))?.unschedulable, false);
    assert.deepEqual(h!.events.filter((e) => e.host === "w1" && (e.kind === "cordon" || e.kind === "uncordon")).map((e) => e.kind), ["cordon", "uncordon"]);
  });

  it("drain --ignore-daemonsets evicts everything but DaemonSet pods and succeeds", async () => {
    const r = await run(["drain", "w1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=30s"]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /node\/w1 drained/);
    assert.match(r.stderr, /Warning: ignoring DaemonSet-managed Pods: /);
    const left = await cluster.listPodsOnNode("w1");
    assert.deepEqual([...new Set(left.map((p) => p.owner))], ["daemonset"]);
    assert.ok(h!.events.some((e) => e.host === "w1" && e.kind === "eviction" && e.detail?.result === "evicted"));
    console.log(`      (kubectl drain took ${r.ms} ms)`);
  });

  it("drain blocked by pdb-blocks times out with kubectl's own message", async () => {
    h!.sim.setFault("w2", "pdb-blocks", true);
    const r = await run(["drain", "w2", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=2s"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /error when evicting pods\/"pinned-w2-[a-z0-9-]+" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./);
    assert.match(r.stderr, /error: unable to drain node "w2" due to error: .*global timeout reached: 2s/);
    assert.ok((await cluster.listPodsOnNode("w2")).some((p) => p.name.startsWith("pinned-w2-")), "the pinned pod is still there");
    assert.ok(h!.events.some((e) => e.kind === "eviction" && e.detail?.result === "blocked"));
  });
});
