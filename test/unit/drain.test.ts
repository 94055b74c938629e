import * as assert from "node:assert/strict";
import type { PodOnNode } from "../../lib/cluster/cluster";
import { budgetOf, podOnNode } from "../../lib/cluster/kubeObjects";
import { CORDONED_AT_ANNOTATION, CORDONED_BY_ANNOTATION } from "../../lib/rollout/cordon";
import { cordonAndDrain, DRAIN_PACING, type DrainOptions } from "../../lib/rollout/drain";
import { judgePod, planDrain, type PodVerdict } from "../../lib/rollout/drainPlan";
import { RolloutError } from "../../lib/rollout/errors";
import type { DrainPolicy } from "../../lib/rollout/spec";
import { FakeCluster, fakePod, fastClock } from "../fakes/cluster";

const KUBECTL_DEFAULTS: DrainPolicy = { force: false, deleteEmptyDirData: false };
const pod = (extra: Partial<PodOnNode>): PodOnNode => fakePod("srv2", "p", extra);

function cluster(clock?: ReturnType<typeof fastClock>) {
  const c = new FakeCluster(clock).addNode("srv2").addNode("srv3");
  c.pods.push(
    fakePod("srv2", "kube-proxy-x", { namespace: "kube-system", owner: "daemonset" }),
    fakePod("srv2", "kube-apiserver-srv2", { namespace: "kube-system", owner: "mirror" }),
    fakePod("srv2", "web-1"),
    fakePod("srv3", "web-2"),
  );
  return c;
}

function drain(c: FakeCluster, extra: Partial<DrainOptions> = {}, lines: string[] = []) {
  return cordonAndDrain(c, { host: "srv2", node: "srv2", timeoutSeconds: 30, clock: fastClock(), progress: (l) => lines.push(l), owner: "rollout-A", ...extra });
}

describe("drain filters (kubectl drain --ignore-daemonsets)", () => {
  const cases: Array<[string, Partial<PodOnNode>, DrainPolicy, PodVerdict["kind"], string[]]> = [
    ["a pod with a controller is evicted", {}, KUBECTL_DEFAULTS, "evict", []],
    ["a DaemonSet pod stays", { owner: "daemonset" }, KUBECTL_DEFAULTS, "skip", []],
    ["a DaemonSet pod with emptyDir stays, and is not a refusal", { owner: "daemonset", emptyDirs: ["tmp"] }, KUBECTL_DEFAULTS, "skip", []],
    ["a finished DaemonSet pod is deleted", { owner: "daemonset", phase: "Failed" }, KUBECTL_DEFAULTS, "evict", []],
    ["a mirror pod stays", { owner: "mirror" }, KUBECTL_DEFAULTS, "skip", []],
    ["a pod without controller is refused", { owner: "none" }, KUBECTL_DEFAULTS, "refuse", ["no-controller"]],
    ["a pod without controller is evicted with force", { owner: "none" }, { force: true, deleteEmptyDirData: false }, "evict", ["no-controller"]],
    ["an emptyDir pod is refused", { emptyDirs: ["cache"] }, KUBECTL_DEFAULTS, "refuse", ["emptydir"]],
    ["an emptyDir pod is evicted with deleteEmptyDirData", { emptyDirs: ["cache"] }, { force: false, deleteEmptyDirData: true }, "evict", ["emptydir"]],
    ["force does not allow emptyDir", { owner: "none", emptyDirs: ["cache"] }, { force: true, deleteEmptyDirData: false }, "refuse", ["emptydir"]],
    ["both reasons are named", { owner: "none", emptyDirs: ["cache"] }, KUBECTL_DEFAULTS, "refuse", ["no-controller", "emptydir"]],
    ["a Succeeded pod goes whatever it is", { owner: "none", emptyDirs: ["cache"], phase: "Succeeded" }, KUBECTL_DEFAULTS, "evict", []],
    ["a Failed pod goes whatever it is", { owner: "none", emptyDirs: ["cache"], phase: "Failed" }, KUBECTL_DEFAULTS, "evict", []],
    ["a Pending pod without controller is refused", { owner: "none", phase: "Pending" }, KUBECTL_DEFAULTS, "refuse", ["no-controller"]],
  ];
  for (const [name, p, policy, kind, reasons] of cases) {
    it(name, () => {
      const v = judgePod(pod(p), policy);
      assert.equal(v.kind, kind);
      if (v.kind === "refuse") assert.deepEqual(v.reasons, reasons);
      if (v.kind === "evict") assert.deepEqual(v.allowedBy, reasons);
    });
  }

  it("plans a node: evict, skip and refuse lists", () => {
    const plan = planDrain(
      [pod({ name: "a" }), pod({ name: "ds", owner: "daemonset" }), pod({ name: "bare", owner: "none" }), pod({ name: "job", owner: "none", phase: "Succeeded" })],
      KUBECTL_DEFAULTS,
    );
    assert.deepEqual(plan.evict.map((p) => p.name), ["a", "job"]);
    assert.deepEqual(plan.skip.map((p) => p.name), ["ds"]);
    assert.deepEqual(plan.refuse.map((v) => v.pod.name), ["bare"]);
  });

  it("reads owner, emptyDir volumes and phase from a Pod the way kubectl does", () => {
    const meta = { namespace: "ns", name: "x", uid: "u" };
    // Only a reference with controller: true makes a controller.
    assert.equal(podOnNode({ metadata: { ...meta, ownerReferences: [{ kind: "ReplicaSet" }] } }).owner, "none");
    assert.equal(podOnNode({ metadata: { ...meta, ownerReferences: [{ kind: "ReplicaSet", controller: true }] } }).owner, "controller");
    assert.equal(podOnNode({ metadata: { ...meta, ownerReferences: [{ kind: "DaemonSet", controller: true }] } }).owner, "daemonset");
    assert.equal(podOnNode({ metadata: { ...meta, ownerReferences: [{ kind: "DaemonSet", controller: false }] } }).owner, "none");
    assert.equal(
      podOnNode({ metadata: { ...meta, annotations: { "kubernetes.io/config.mirror": "h" }, ownerReferences: [{ kind: "Node", controller: true }] } }).owner,
      "mirror",
    );
    const p = podOnNode({ metadata: meta, spec: { volumes: [{ name: "cache", emptyDir: {} }, { name: "conf", configMap: {} } as { name: string }] }, status: { phase: "Succeeded" } });
    assert.deepEqual(p.emptyDirs, ["cache"]);
    assert.equal(p.phase, "Succeeded");
    assert.equal(podOnNode({ metadata: meta }).phase, "Unknown");
  });

  it("names the workload a pod belongs to: its DaemonSet or StatefulSet, or the Deployment of its ReplicaSet by the pod-template-hash label", () => {
    const meta = { namespace: "ns", name: "x", uid: "u" };
    const owned = (kind: string, name: string, labels: Record<string, string> = {}) => podOnNode({ metadata: { ...meta, labels, ownerReferences: [{ kind, name, controller: true }] } }).workload;
    assert.deepEqual(owned("DaemonSet", "flannel"), { kind: "DaemonSet", name: "flannel" });
    assert.deepEqual(owned("StatefulSet", "db"), { kind: "StatefulSet", name: "db" });
    assert.deepEqual(owned("ReplicaSet", "web-866794448f", { "pod-template-hash": "866794448f" }), { kind: "Deployment", name: "web" });
    assert.equal(owned("ReplicaSet", "bare-rs"), undefined, "a ReplicaSet of no Deployment");
    assert.equal(owned("Job", "backup"), undefined);
    assert.equal(podOnNode({ metadata: meta }).workload, undefined);
  });

  it("names the budget an eviction's 429 gives as its cause", () => {
    assert.equal(budgetOf(["The disruption budget web needs 2 healthy pods and has 2 currently"]), "web");
    assert.equal(budgetOf(["something else"]), undefined);
  });
});

describe("cordonAndDrain", () => {
  it("cordons with the rollout's record, evicts only pods that are not DaemonSet or mirror pods, and waits for them to go", async () => {
    const c = cluster();
    const lines: string[] = [];
    const r = await drain(c, {}, lines);
    assert.deepEqual(c.calls, ["cordon srv2", "evict web-1"]);
    const node = c.nodes.get("srv2")!;
    assert.equal(node.unschedulable, true);
    assert.equal(node.annotations[CORDONED_BY_ANNOTATION], "rollout-A");
    assert.match(node.annotations[CORDONED_AT_ANNOTATION], /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(r, { cordonBefore: { kind: "none" }, evicted: 1 });
    assert.ok(c.pods.find((p) => p.name === "kube-proxy-x" && !p.gone));
    assert.ok(c.pods.find((p) => p.name === "web-2" && !p.gone), "pods on other nodes stay");
    assert.deepEqual(lines, ["draining srv2", "srv2 drained (1 pods evicted)"]);
  });

  it("does not wait for evicted pods on a NotReady Node, which has no kubelet to finish them; on a Ready one it waits until its deadline", async () => {
    const c = cluster();
    c.noKubelet.add("srv2");
    c.addNode("srv2", false);
    const lines: string[] = [];
    assert.deepEqual(await drain(c, {}, lines), { cordonBefore: { kind: "none" }, evicted: 1 });
    assert.ok(c.pods.find((p) => p.name === "web-1" && !p.gone), "the pod is still Terminating");
    assert.ok(lines.includes("srv2: srv2 is not Ready, so no kubelet finishes its evicted pods (default/web-1); not waiting for them to terminate"), lines.join("\n"));

    const ready = cluster();
    ready.noKubelet.add("srv2");
    await assert.rejects(drain(ready, { timeoutSeconds: 5 }), /srv2: drain failed: gave up after 5s waiting for evicted pods to terminate on srv2 \(last seen: still terminating: default\/web-1\)/);
  });

  it("refuses before cordoning or evicting anything, listing every refused pod, its reason and the option to set", async () => {
    const c = cluster();
    c.pods.push(fakePod("srv2", "debug-shell", { owner: "none" }), fakePod("srv2", "cache-0", { namespace: "apps", emptyDirs: ["scratch", "tmp"] }));
    await assert.rejects(drain(c), (e: unknown) => {
      assert.ok(e instanceof RolloutError);
      assert.equal(e.step, "drain");
      assert.match(e.message, /^srv2: drain failed: refused to drain srv2, nothing was evicted: 2 pods cannot be evicted safely/);
      assert.match(e.message, /default\/debug-shell: declares no controller, allowed by drain\.force/);
      assert.match(e.message, /apps\/cache-0: has emptyDir volumes \(scratch, tmp\), allowed by drain\.deleteEmptyDirData/);
      assert.match(e.message, /what to do: .*drain\.force: true \(nothing recreates it elsewhere\) and drain\.deleteEmptyDirData: true \(their data is lost\)/);
      assert.doesNotMatch(e.message, /uncordoned/);
      return true;
    });
    assert.deepEqual(c.calls, [], "no cordon, no eviction");
    assert.equal(c.nodes.get("srv2")!.unschedulable, false);
  });

  it("evicts a pod without controller under force and an emptyDir pod under deleteEmptyDirData, saying so", async () => {
    const c = cluster();
    c.pods.push(fakePod("srv2", "debug-shell", { owner: "none" }), fakePod("srv2", "cache-0", { emptyDirs: ["scratch"] }));
    const lines: string[] = [];
    await drain(c, { policy: { force: true, deleteEmptyDirData: true } }, lines);
    assert.deepEqual(c.calls, ["cordon srv2", "evict web-1", "evict debug-shell", "evict cache-0"]);
    assert.ok(lines.includes("srv2: evicting default/debug-shell, which declares no controller (drain.force)"), lines.join("\n"));
    assert.ok(lines.includes("srv2: evicting default/cache-0, which has emptyDir volumes (drain.deleteEmptyDirData)"), lines.join("\n"));
  });

  it("one option does not lift the other refusal", async () => {
    const c = cluster();
    c.pods.push(fakePod("srv2", "cache-0", { emptyDirs: ["scratch"] }));
    await assert.rejects(drain(c, { policy: { force: true, deleteEmptyDirData: false } }), /default\/cache-0: has emptyDir volumes/);
    assert.deepEqual(c.calls, []);
  });

  it("deletes finished pods without concern", async () => {
    const c = cluster();
    c.pods.push(fakePod("srv2", "job-x", { owner: "none", emptyDirs: ["work"], phase: "Succeeded" }));
    await drain(c);
    assert.deepEqual(c.calls, ["cordon srv2", "evict web-1", "evict job-x"]);
  });

  it("retries an eviction refused without a readable budget every 5 seconds, like kubectl", async () => {
    const clock = fastClock();
    const c = cluster(clock);
    c.pods[2].blockedTimes = 3;
    const lines: string[] = [];
    await drain(c, { clock }, lines);
    assert.deepEqual(c.calls, ["cordon srv2", "blocked web-1", "blocked web-1", "blocked web-1", "evict web-1"]);
    const gaps = c.evictionTimes.slice(1).map((t, i) => t - c.evictionTimes[i]);
    assert.deepEqual(gaps, [5000, 5000, 5000]);
    assert.equal(DRAIN_PACING.evictionRetryMs, 5000);
    // One line when a pod is first blocked, not one per retry.
    assert.equal(lines.filter((l) => /web-1 blocked/.test(l)).length, 1, lines.join("\n"));
  });

  it("asks again as soon as the refusing budget's status allows a disruption, well before 5 seconds", async () => {
    const clock = fastClock();
    const c = cluster(clock);
    c.pods[2].budget = "web";
    // The replacement pod becomes Ready 1.1 s into the drain; the disruption controller then allows one.
    c.budgetFreesAt.set("default/web", clock.now() + 1100);
    const lines: string[] = [];
    await drain(c, { clock }, lines);
    assert.deepEqual(c.calls, ["cordon srv2", "blocked web-1", "evict web-1"]);
    // The budget is read every 250 ms: the first read that sees it free is at 1.25 s.
    assert.deepEqual(c.evictionTimes.slice(1).map((t, i) => t - c.evictionTimes[i]), [1250]);
    assert.ok(lines.some((l) => /web-1 blocked by PodDisruptionBudget default\/web: .*asking again when the budget allows it, at most 5s later/.test(l)), lines.join("\n"));
  });

  it("asks again only for the pods whose own budget allows it: another budget freeing up keeps the 5 seconds of the rest", async () => {
    const clock = fastClock();
    const c = cluster(clock);
    c.pods[2].budget = "web";
    c.pods.push(fakePod("srv2", "api-1", { budget: "api" }));
    const start = clock.now();
    c.budgetFreesAt.set("default/web", start + 1100);
    c.budgetFreesAt.set("default/api", start + 7000);
    await drain(c, { clock });
    assert.deepEqual(c.calls, ["cordon srv2", "blocked web-1", "blocked api-1", "evict web-1", "blocked api-1", "evict api-1"]);
    assert.deepEqual(c.evictionTimes.map((t) => t - start), [0, 0, 1250, 5000, 7000]);
  });

  it("keeps to the 5 seconds, and does not fail, when reading the refusing budget fails", async () => {
    const clock = fastClock();
    const c = cluster(clock);
    c.pods[2].budget = "web";
    c.pods[2].blockedTimes = 1;
    c.disruptionsAllowed = async () => {
      throw new Error("get poddisruptionbudget default/web failed: 503 Service Unavailable");
    };
    await drain(c, { clock });
    assert.deepEqual(c.calls, ["cordon srv2", "blocked web-1", "evict web-1"]);
    assert.deepEqual(c.evictionTimes.slice(1).map((t, i) => t - c.evictionTimes[i]), [5000]);
  });

  it("waits the full 5 seconds when the refusing budget still allows nothing", async () => {
    const clock = fastClock();
    const c = cluster(clock);
    c.pods[2].budget = "web";
    c.budgetFreesAt.set("default/web", clock.now() + 7000);
    await drain(c, { clock });
    assert.deepEqual(c.calls, ["cordon srv2", "blocked web-1", "blocked web-1", "evict web-1"]);
    assert.deepEqual(c.evictionTimes.slice(1).map((t, i) => t - c.evictionTimes[i]), [5000, 2000]);
  });

  it("gives up at its deadline naming the pods and the budget, without saying where the node was left", async () => {
    const clock = fastClock();
    const c = cluster(clock);
    c.pods[2].blockedTimes = Number.POSITIVE_INFINITY;
    c.pods[2].budget = "web";
    c.pods.push(fakePod("srv2", "web-3", { blockedTimes: Number.POSITIVE_INFINITY, budget: "web" }));
    await assert.rejects(drain(c, { clock, timeoutSeconds: 12 }), (e: unknown) => {
      assert.ok(e instanceof RolloutError);
      assert.equal(e.step, "drain");
      assert.match(e.message, /srv2: drain failed: gave up after 12s waiting for pods on srv2 to be evicted/);
      assert.match(e.message, /default\/web-1 blocked by PodDisruptionBudget default\/web: Cannot evict pod/);
      assert.match(e.message, /the PodDisruptionBudget default\/web forbids evicting default\/web-1, default\/web-3/);
      assert.doesNotMatch(e.message, /uncordoned/);
      return true;
    });
    // Asked at 0 s, 5 s and 10 s; the deadline at 12 s comes before a fourth try.
    assert.equal(c.evictionTimes.length, 6);
    assert.deepEqual([...new Set(c.evictionTimes)].map((t) => t - c.evictionTimes[0]), [0, 5000, 10000]);
  });

  it("leaves an operator's cordon as it was, without claiming it", async () => {
    const c = cluster();
    c.nodes.set("srv2", { ...c.nodes.get("srv2")!, unschedulable: true });
    const lines: string[] = [];
    const r = await drain(c, {}, lines);
    assert.deepEqual(r.cordonBefore, { kind: "operator" });
    assert.deepEqual(c.calls, ["evict web-1"]);
    assert.deepEqual(c.nodes.get("srv2")!.annotations, {});
    assert.ok(lines.some((l) => /was already cordoned, not by a rollout; the rollout will not uncordon it/.test(l)), lines.join("\n"));
  });

  it("keeps the record of an earlier rollout's cordon", async () => {
    const c = cluster();
    const earlier = { [CORDONED_BY_ANNOTATION]: "rollout-old", [CORDONED_AT_ANNOTATION]: "2026-01-01T00:00:00.000Z" };
    c.nodes.set("srv2", { ...c.nodes.get("srv2")!, unschedulable: true, annotations: earlier });
    const r = await drain(c);
    assert.deepEqual(r.cordonBefore, { kind: "rollout", by: "rollout-old", at: "2026-01-01T00:00:00.000Z" });
    assert.deepEqual(c.nodes.get("srv2")!.annotations, earlier);
  });
});
