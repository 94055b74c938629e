import * as assert from "node:assert/strict";
import type { ExecResult, Host } from "../../lib/host/host";
import { RolloutError } from "../../lib/rollout/errors";
import { commandGatePasses, judgeNodes, waitForGates, workloadPasses } from "../../lib/rollout/health";
import type { CommandGate, HealthGates } from "../../lib/rollout/spec";
import { FakeCluster, fakePod, fastClock, virtualClock } from "../fakes/cluster";

/** Makes a Node Ready, or a workload healthy, from the given moment of `clock` on. */
function recoverAt(
  c: FakeCluster,
  clock: { now(): number },
  at: { node?: [string, number]; workload?: [string, string, number] },
): void {
  const listNodes = c.listNodes.bind(c);
  const listWorkloads = c.listWorkloads.bind(c);
  c.listNodes = async () => (await listNodes()).map((n) => (at.node && n.name === at.node[0] && clock.now() >= at.node[1] ? { ...n, ready: true } : n));
  c.listWorkloads = async (ns: string) =>
    (await listWorkloads(ns)).map((w) => (at.workload && ns === at.workload[0] && w.name === at.workload[1] && clock.now() >= at.workload[2] ? { ...w, healthy: true } : w));
}

const ceph: CommandGate = { name: "ceph", command: "ceph health", exitCode: 0, passWhen: ["^HEALTH_OK", "^HEALTH_WARN.*noout"] };

/** A host whose command answers come from a script, one per call. */
function scriptedHost(answers: ExecResult[]): Host & { commands: string[] } {
  const commands: string[] = [];
  return {
    name: "srv1",
    commands,
    async exec(command: string) {
      commands.push(command);
      return answers.length > 1 ? answers.shift()! : answers[0];
    },
    async close() {},
  };
}
const out = (stdout: string, code = 0): ExecResult => ({ code, stdout, stderr: "" });

describe("health gates", () => {
  it("judge command output by exit status and the passWhen patterns", () => {
    assert.equal(commandGatePasses(ceph, 0, "HEALTH_OK\n"), true);
    assert.equal(commandGatePasses(ceph, 0, "HEALTH_WARN noout flag(s) set\n"), true);
    assert.equal(commandGatePasses(ceph, 0, "HEALTH_WARN 1 osds down\n"), false);
    assert.equal(commandGatePasses(ceph, 1, "HEALTH_OK\n"), false);
    assert.equal(commandGatePasses({ ...ceph, passWhen: [] }, 0, "anything"), true);
  });

  it("wait for nodes, workloads and commands, reporting each like nk3", async () => {
    const c = new FakeCluster().addNode("srv1").addNode("srv2", false);
    c.workloads.set("kube-system", [
      { kind: "DaemonSet", namespace: "kube-system", name: "kube-proxy", healthy: true, reason: "" },
      { kind: "DaemonSet", namespace: "kube-system", name: "flannel", healthy: true, reason: "" },
      { kind: "Deployment", namespace: "kube-system", name: "coredns", healthy: false, reason: "1 of 2 updated replicas are available" },
    ]);
    const clock = virtualClock();
    const t0 = clock.now();
    recoverAt(c, clock, { node: ["srv2", t0 + 500], workload: ["kube-system", "coredns", t0 + 1000] });
    const host = scriptedHost([out("HEALTH_WARN 1 osds down"), out("HEALTH_OK")]);
    const lines: string[] = [];
    const gates: HealthGates = { nodesReady: true, watchedNamespaces: ["kube-system"], commands: [ceph] };
    await waitForGates(gates, c, host, { host: "srv1", timeoutSeconds: 60, clock, progress: (l) => lines.push(l) });
    // What is still recovering is said while it is waited for; what passed, in the gates' order.
    assert.deepEqual(lines, [
      "1 workloads recovering in kube-system",
      "2 nodes Ready",
      "2 daemonsets healthy in kube-system",
      "1 deployments healthy in kube-system",
      "ceph: HEALTH_OK",
    ]);
    assert.deepEqual(host.commands, ["ceph health", "ceph health"]);
  });

  it("wait side by side: the rollout pays for the slowest gate, not for their sum", async () => {
    const c = new FakeCluster().addNode("srv1").addNode("srv2", false);
    c.workloads.set("kube-system", [{ kind: "Deployment", namespace: "kube-system", name: "coredns", healthy: false, reason: "0 of 1 updated replicas are available" }]);
    c.workloads.set("default", [{ kind: "StatefulSet", namespace: "default", name: "db", healthy: false, reason: "0 of 1 updated replicas are ready" }]);
    const clock = virtualClock();
    const t0 = clock.now();
    recoverAt(c, clock, { node: ["srv2", t0 + 2000], workload: ["kube-system", "coredns", t0 + 2000] });
    recoverAt(c, clock, { workload: ["default", "db", t0 + 2000] });
    // The command gate needs 9 tries, 2 s at one every 250 ms; the others recover 2 s in.
    const host = scriptedHost([...Array.from({ length: 8 }, () => out("HEALTH_WARN 1 osds down")), out("HEALTH_OK")]);
    await waitForGates({ nodesReady: true, watchedNamespaces: ["kube-system", "default"], commands: [ceph] }, c, host, {
      host: "srv1",
      timeoutSeconds: 60,
      clock,
      progress: () => undefined,
    });
    // Each gate needs 2 s on its own; one after the other they would take 4 s.
    const took = clock.now() - t0;
    assert.ok(took >= 2000 && took <= 2250, `took ${took} ms`);
  });

  it("report the first failing gate in their order when several fail", async () => {
    const c = new FakeCluster().addNode("srv1").addNode("srv2", false);
    c.workloads.set("kube-system", [{ kind: "Deployment", namespace: "kube-system", name: "coredns", healthy: false, reason: "0 of 1 updated replicas are available" }]);
    await assert.rejects(
      waitForGates({ nodesReady: true, watchedNamespaces: ["kube-system"], commands: [] }, c, undefined, { host: "srv1", timeoutSeconds: 5, clock: virtualClock(), progress: () => undefined }),
      (e: unknown) => e instanceof RolloutError && /gate "nodes Ready" did not pass: gave up after 5s waiting for every node to be Ready \(last seen: not Ready: srv2\)/.test(e.message),
    );
  });

  it("fail naming the gate and what was seen last", async () => {
    const host = scriptedHost([out("HEALTH_ERR mon down", 0)]);
    await assert.rejects(
      waitForGates({ nodesReady: false, watchedNamespaces: [], commands: [ceph] }, undefined, host, {
        host: "srv1",
        timeoutSeconds: 10,
        clock: fastClock(),
        progress: () => undefined,
      }),
      (e: unknown) => {
        assert.ok(e instanceof RolloutError);
        assert.equal(e.step, "health");
        assert.match(e.message, /gate "ceph" did not pass: gave up after 10s waiting for command gate "ceph" \(ceph health\) to pass \(last seen: exit 0: HEALTH_ERR mon down\)/);
        return true;
      },
    );
  });

  it("excuse Nodes other rollouts of the fleet disrupt, and one DaemonSet pod per such NotReady Node, nothing else", () => {
    const nodes = [{ name: "srv1", ready: true }, { name: "srv2", ready: false }, { name: "srv3", ready: false }];
    const other = (node: string) => ({ node, why: "disrupted by another rollout of the fleet" });
    assert.deepEqual(judgeNodes(nodes, []), { ok: false, waiting: "not Ready: srv2, srv3" });
    assert.deepEqual(judgeNodes(nodes, [other("srv3")]), { ok: false, waiting: "not Ready: srv2" });
    assert.deepEqual(judgeNodes(nodes, [other("srv2"), other("srv3")]), {
      ok: true,
      note: "1 nodes Ready; srv2 disrupted by another rollout of the fleet; srv3 disrupted by another rollout of the fleet",
    });
    assert.deepEqual(judgeNodes([{ name: "srv1", ready: true }], [other("srv2")]), { ok: true, note: "1 nodes Ready" });
    const ds = { kind: "DaemonSet" as const, namespace: "kube-system", name: "kube-proxy", healthy: false, reason: "2 of 3", unavailablePods: 1 };
    assert.equal(workloadPasses(ds, 1), true, "its one unavailable pod is on an excused Node");
    assert.equal(workloadPasses(ds, 0), false);
    assert.equal(workloadPasses({ ...ds, unavailablePods: 2 }, 1), false, "one more pod is missing than excused Nodes hold");
    assert.equal(workloadPasses({ ...ds, kind: "Deployment", unavailablePods: 2 }, 2), true);
    assert.equal(workloadPasses({ ...ds, unavailablePods: undefined }, 3), false, "a workload still rolling out its template is not excused");
  });

  it("a gate waits for a NotReady Node that no other rollout holds, and passes over one that another holds", async () => {
    const c = new FakeCluster().addNode("srv1").addNode("srv2", false);
    c.workloads.set("kube-system", [{ kind: "DaemonSet", namespace: "kube-system", name: "flannel", healthy: false, reason: "1 of 2 updated pods are available", unavailablePods: 1 }]);
    c.pods.push(fakePod("srv2", "flannel-x2", { namespace: "kube-system", owner: "daemonset", workload: { kind: "DaemonSet", name: "flannel" } }));
    const gates: HealthGates = { nodesReady: true, watchedNamespaces: ["kube-system"], commands: [] };
    const lines: string[] = [];
    await waitForGates(gates, c, undefined, { host: "srv1", timeoutSeconds: 30, clock: fastClock(), progress: (l) => lines.push(l), othersDisrupting: async () => ["srv2"] });
    assert.deepEqual(lines, ["1 nodes Ready; srv2 disrupted by another rollout of the fleet", "DaemonSet kube-system/flannel: 1 pods unavailable, on Nodes not held against srv1"]);
    await assert.rejects(
      waitForGates(gates, c, undefined, { host: "srv1", timeoutSeconds: 30, clock: fastClock(), progress: () => undefined, othersDisrupting: async () => [] }),
      /gate "nodes Ready" did not pass: .*not Ready: srv2/,
    );
  });
});
