import * as assert from "node:assert/strict";
import type { ExecResult, Host } from "../../lib/host/host";
import { RolloutError } from "../../lib/rollout/errors";
import { commandGatePasses, judgeNodes, waitForGates, workloadPasses } from "../../lib/rollout/health";
import type { CommandGate, HealthGates } from "../../lib/rollout/spec";
import { FakeCluster, fakePod, fastClock } from "../fakes/cluster";

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
    const clock = fastClock();
    const sleep = clock.sleep;
    let slept = 0;
    clock.sleep = async (ms) => {
      if (++slept === 2) c.addNode("srv2", true);
      if (slept === 4) c.workloads.get("kube-system")![2] = { ...c.workloads.get("kube-system")![2], healthy: true };
      await sleep(ms);
    };
    const host = scriptedHost([out("HEALTH_WARN 1 osds down"), out("HEALTH_OK")]);
    const lines: string[] = [];
    const gates: HealthGates = { nodesReady: true, watchedNamespaces: ["kube-system"], commands: [ceph] };
    await waitForGates(gates, c, host, { host: "srv1", timeoutSeconds: 60, clock, progress: (l) => lines.push(l) });
    assert.deepEqual(lines, [
      "2 nodes Ready",
      "1 workloads recovering in kube-system",
      "2 daemonsets healthy in kube-system",
      "1 deployments healthy in kube-system",
      "ceph: HEALTH_OK",
    ]);
    assert.deepEqual(host.commands, ["ceph health", "ceph health"]);
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
