/**
 * The simulated kubelets (sim/kubelet) against the real control plane: what a kubelet promises
 * (Node registration and status from the booted system, Lease renewals, pods started and
 * removed), what the control plane does without it (the node lifecycle controller, the
 * disruption controller's budgets, kube-apiserver's 429), and the timeline taken from the
 * audit log. kubectl of the same release drains a node of the simulated cluster.
 */
import * as assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { requireBinaries, locateBinaries } from "../../sim/controlplane/binaries";
import { unless } from "../../sim/kubelet/api";
import { eventually, kubectl, readyOf } from "./helpers/controlplane-harness";
import { type KubeletHarness, startKubelets, writeHostFile } from "./helpers/kube-harness";

const TOKEN = "/var/lib/rancher/k3s/agent-token";

describe("simulated kubelets on the real control plane (sim/kubelet)", function () {
  this.timeout(240_000);
  let h: KubeletHarness;
  const boots = new Map<string, string>();
  const systems = new Map<string, string>();

  const node = (name: string): Promise<V1Node> => h.api.core.readNode({ name });
  const condition = (n: V1Node) => n.status?.conditions?.find((c) => c.type === "Ready");
  const podsOn = async (name: string): Promise<V1Pod[]> => (await h.api.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })).items;
  const events = (since: number, host?: string) => h.events.filter((e) => e.t >= since && (host === undefined || e.host === host));
  function boot(name: string, system = systems.get(name) ?? ""): string {
    const id = randomUUID();
    boots.set(name, id);
    h.kubelets.hostUp(name, id, system);
    return id;
  }

  before(async function () {
    h = await startKubelets();
    systems.set("cp1", h.system("cp1", { enable: true, role: "server", extraFlags: "--node-name=cp1 --node-label=tier=edge" }));
    for (const w of ["w1", "w2"]) {
      writeHostFile(h, w, TOKEN, "join-token\n");
      systems.set(w, h.system(w, { enable: true, role: "agent", tokenFile: TOKEN }, "6.12.8"));
    }
    await h.kubelets.start();
  });

  after(async () => {
    await h?.stop();
  });

  it("registers each Node NotReady, then Ready kubeletReadyMs later, with the boot's bootID and the booted system's facts", async () => {
    const t0 = Date.now();
    for (const name of ["cp1", "w1", "w2"]) boot(name);
    const first = await eventually("Node w1 registered", async () => (await h.api.core.listNode()).items.find((n) => n.metadata?.name === "w1"), 10_000);
    assert.notEqual(readyOf(first), "True", "not Ready at registration");
    await h.kubelets.settled(90_000);
    for (const name of ["cp1", "w1", "w2"]) {
      const ready = h.events.find((e) => e.host === name && e.kind === "ready");
      assert.ok(ready !== undefined && ready.t - t0 >= h.timings.kubeletReadyMs, `${name} Ready after ${ready ? ready.t - t0 : "never"} ms`);
      assert.equal(ready.detail?.bootId, boots.get(name));
    }
    const w1 = await node("w1");
    assert.equal(readyOf(w1), "True");
    assert.deepEqual(
      [w1.status?.nodeInfo?.bootID, w1.status?.nodeInfo?.kernelVersion, w1.status?.nodeInfo?.osImage, w1.status?.nodeInfo?.kubeletVersion],
      [boots.get("w1"), "6.12.8", "NixOS 24.11.20250101.abcdef0 (Vicuna)", "v1.31.4+k3s1"],
    );
    assert.deepEqual(w1.status?.addresses?.find((a) => a.type === "InternalIP")?.address, "10.99.0.11");
    assert.equal(w1.metadata?.labels?.["kubernetes.io/hostname"], "w1");
    assert.equal(w1.metadata?.labels?.["node-role.kubernetes.io/control-plane"], undefined, "an agent is a worker");
    const cp1 = await node("cp1");
    assert.equal(cp1.metadata?.labels?.["node-role.kubernetes.io/control-plane"], "true", "a k3s server is a control-plane node");
    assert.equal(cp1.metadata?.labels?.tier, "edge", "--node-label from services.k3s.extraFlags");
  });

  it("renews each Node's Lease in kube-node-lease, owned by its Node", async () => {
    const before = await h.api.coordination.readNamespacedLease({ name: "w2", namespace: "kube-node-lease" });
    await new Promise((r) => setTimeout(r, 2_600));
    const after = await h.api.coordination.readNamespacedLease({ name: "w2", namespace: "kube-node-lease" });
    assert.equal(after.spec?.holderIdentity, "w2");
    assert.ok(new Date(String(after.spec?.renewTime)) > new Date(String(before.spec?.renewTime)), "renewTime moved forward");
    assert.deepEqual(after.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [["Node", "w2", (await node("w2")).metadata?.uid]]);
  });

  it("runs the seeded workloads the real controllers made and the real scheduler bound: every pod Running and Ready, one DaemonSet pod per node", async () => {
    const pods = (await h.api.core.listPodForAllNamespaces({})).items;
    assert.ok(pods.length >= 14, `${pods.length} pods`);
    for (const p of pods) {
      assert.ok(p.spec?.nodeName, `${p.metadata?.name} is bound`);
      assert.equal(p.status?.phase, "Running", p.metadata?.name);
      assert.equal(p.status?.conditions?.find((c) => c.type === "Ready")?.status, "True", p.metadata?.name);
    }
    const proxies = pods.filter((p) => p.metadata?.name?.startsWith("kube-proxy-")).map((p) => p.spec?.nodeName).sort();
    assert.deepEqual(proxies, ["cp1", "w1", "w2"]);
    const web = await h.api.policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "default" });
    assert.deepEqual([web.status?.currentHealthy, web.status?.desiredHealthy, web.status?.disruptionsAllowed], [3, 2, 1]);
  });

  it("removes a pod being deleted after podTerminationMs rather than its 30 s grace period, by uid; its ReplicaSet replaces it", async () => {
    const [victim] = (await h.api.core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" })).items;
    const t0 = Date.now();
    await h.api.core.deleteNamespacedPod({ name: victim.metadata?.name ?? "", namespace: "default" });
    const terminating = await h.api.core.readNamespacedPod({ name: victim.metadata?.name ?? "", namespace: "default" });
    assert.ok(terminating.metadata?.deletionTimestamp !== undefined, "Terminating until its kubelet removes it");
    assert.equal(terminating.metadata?.deletionGracePeriodSeconds, 30);
    await eventually("the pod gone", async () => ((await h.api.core.listNamespacedPod({ namespace: "default", fieldSelector: `metadata.name=${victim.metadata?.name}` })).items.length === 0 ? true : undefined), 10_000);
    const gone = Date.now() - t0;
    assert.ok(gone >= h.timings.podTerminationMs && gone < 10_000, `removed after ${gone} ms`);
    await eventually("web 3/3 available again", async () => ((await h.api.apps.readNamespacedDeployment({ name: "web", namespace: "default" })).status?.availableReplicas === 3 ? true : undefined), 20_000);
  });

  it("pdb-blocks: kube-apiserver itself refuses the eviction with 429 and cause DisruptionBudget; the timeline says blocked; cleared, the eviction goes through", async () => {
    await h.kubelets.setFault("w2", "pdb-blocks", true);
    const [pinned] = (await h.api.core.listNamespacedPod({ namespace: "default", labelSelector: "app=pinned-w2" })).items;
    assert.equal(pinned.spec?.nodeName, "w2");
    assert.match(pinned.metadata?.name ?? "", /^pinned-w2-/);
    const since = Date.now();
    const evict = () => h.api.core.createNamespacedPodEviction({ name: pinned.metadata?.name ?? "", namespace: "default", body: { metadata: { name: pinned.metadata?.name, namespace: "default" } } });
    await assert.rejects(evict(), (e: { code?: number; body?: string }) => {
      assert.equal(e.code, 429);
      const status = JSON.parse(String(e.body)) as { message: string; details?: { causes?: Array<{ reason?: string }> } };
      assert.match(status.message, /^Cannot evict pod as it would violate the pod's disruption budget\./);
      assert.equal(status.details?.causes?.[0]?.reason, "DisruptionBudget");
      return true;
    });
    const blocked = await eventually("a blocked eviction on the timeline", async () => events(since, "w2").find((e) => e.kind === "eviction"), 5_000);
    assert.deepEqual(blocked.detail, { namespace: "default", pod: pinned.metadata?.name, result: "blocked" });
    await h.kubelets.setFault("w2", "pdb-blocks", false);
    await assert.rejects(h.api.policy.readNamespacedPodDisruptionBudget({ name: "pinned-w2", namespace: "default" }), (e: { code?: number }) => e.code === 404);
  });

  it("records cordon and uncordon when a Node's spec.unschedulable changes (from the audit log), not for other changes; node-deleted, and the kubelet registers again", async () => {
    const since = Date.now();
    const run = (args: string[]) => kubectl(requireBinaries(locateBinaries()).kubectl, h.cp.kubeconfigPath, args);
    assert.equal((await run(["cordon", "w1"])).code, 0);
    assert.equal((await run(["label", "node", "w1", "team=a"])).code, 0);
    assert.equal((await run(["uncordon", "w1"])).code, 0);
    await eventually("uncordon on the timeline", async () => events(since, "w1").find((e) => e.kind === "uncordon"), 5_000);
    assert.deepEqual(events(since, "w1").filter((e) => e.kind !== "ready").map((e) => e.kind), ["cordon", "uncordon"]);
    const uid = (await node("w2")).metadata?.uid;
    await h.api.core.deleteNode({ name: "w2" });
    await eventually("node-deleted on the timeline", async () => events(since, "w2").find((e) => e.kind === "node-deleted"), 5_000);
    const again = await eventually("w2 registered again and Ready", async () => {
      const n = await node("w2");
      return n.metadata?.uid !== uid && readyOf(n) === "True" ? n : undefined;
    }, 20_000);
    assert.equal(again.status?.nodeInfo?.bootID, boots.get("w2"));
  });

  it("kubectl drain evicts through the real Eviction API and finishes once the kubelet removed the pods; each eviction is on the timeline", async () => {
    const bin = requireBinaries(locateBinaries()).kubectl;
    const since = Date.now();
    const r = await kubectl(bin, h.cp.kubeconfigPath, ["drain", "w1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s"], 150_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /node\/w1 drained/);
    const left = (await podsOn("w1")).filter((p) => !p.metadata?.ownerReferences?.some((o) => o.kind === "DaemonSet"));
    assert.deepEqual(left.map((p) => p.metadata?.name), [], "only DaemonSet pods stay");
    // Each pod kubectl evicted is on the timeline, read from kube-apiserver's audit log.
    const names = r.stdout.split("\n").flatMap((l) => /^pod\/(\S+) evicted$/.exec(l.trim())?.[1] ?? []);
    assert.ok(names.length > 0, r.stdout);
    await eventually("an eviction event for each evicted pod", async () => {
      const seen = events(since, "w1").filter((e) => e.kind === "eviction" && e.detail?.result === "evicted").map((e) => String(e.detail?.pod));
      return names.every((n) => seen.includes(n)) ? true : undefined;
    }, 5_000);
    assert.equal((await kubectl(bin, h.cp.kubeconfigPath, ["uncordon", "w1"])).code, 0);
  });

  it("a host that goes down keeps its Node as it was until the node lifecycle controller marks it Unknown after the grace period; its pods stay bound", async () => {
    const podsBefore = (await podsOn("w1")).length;
    const down = Date.now();
    h.kubelets.hostDown("w1");
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(readyOf(await node("w1")), "True", "nothing tells the control plane at once");
    const unknown = await eventually("w1 Unknown", async () => {
      const n = await node("w1");
      return readyOf(n) === "Unknown" ? n : undefined;
    }, 30_000);
    const after = Date.now() - down;
    assert.ok(after >= (h.timings.nodeMonitorGracePeriodSeconds ?? 0) * 1000 - 2_000, `Unknown after ${after} ms`);
    assert.equal(condition(unknown)?.reason, "NodeStatusUnknown");
    await eventually("the unreachable taint", async () => ((await node("w1")).spec?.taints?.some((t) => t.key === "node.kubernetes.io/unreachable") ? true : undefined), 10_000);
    assert.equal((await podsOn("w1")).length, podsBefore, "pods stay bound to the Unknown node");
    await eventually("a not-ready event of w1", async () => events(down, "w1").find((e) => e.kind === "not-ready"), 5_000);
    const id = boot("w1");
    await eventually("w1 Ready with the new bootID", async () => {
      const n = await node("w1");
      return readyOf(n) === "True" && n.status?.nodeInfo?.bootID === id ? n : undefined;
    }, 20_000);
    await eventually("the controller to lift the unreachable taint", async () => ((await node("w1")).spec?.taints?.some((t) => t.key === "node.kubernetes.io/unreachable") ? undefined : true), 10_000);
  });

  it("follows the configuration: no kubelet when k3s is disabled or its token file is missing; a live switch that enables it starts one", async () => {
    h.kubelets.hostDown("w2");
    const since = Date.now();
    boot("w2", h.system("w2", { enable: false }));
    await eventually("w2 Unknown: no kubelet renews its Lease", async () => (readyOf(await node("w2")) === "Unknown" ? true : undefined), 30_000);
    h.kubelets.servicesChanged("w2", h.system("w2", { enable: true, role: "agent", tokenFile: "/var/lib/rancher/k3s/missing-token" }));
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(readyOf(await node("w2")), "Unknown", "k3s does not start without its token file");
    assert.ok(!events(since, "w2").some((e) => e.kind === "ready"));
    h.kubelets.servicesChanged("w2", systems.get("w2") ?? "");
    const n = await eventually("w2 Ready again", async () => {
      const x = await node("w2");
      return readyOf(x) === "True" ? x : undefined;
    }, 20_000);
    assert.equal(n.status?.nodeInfo?.bootID, boots.get("w2"), "the same boot");
  });

  it("kubelet-never-ready holds a starting kubelet NotReady (KubeletNotReady) until cleared", async () => {
    await h.kubelets.setFault("cp1", "kubelet-never-ready", true);
    h.kubelets.hostDown("cp1");
    const id = boot("cp1");
    await eventually("cp1 NotReady with the new bootID", async () => {
      const n = await node("cp1");
      return n.status?.nodeInfo?.bootID === id && readyOf(n) === "False" ? true : undefined;
    }, 10_000);
    await new Promise((r) => setTimeout(r, h.timings.kubeletReadyMs * 3));
    const held = await node("cp1");
    assert.deepEqual([readyOf(held), condition(held)?.reason], ["False", "KubeletNotReady"]);
    await h.kubelets.setFault("cp1", "kubelet-never-ready", false);
    await eventually("cp1 Ready", async () => (readyOf(await node("cp1")) === "True" ? true : undefined), 10_000);
  });

  it("registers the Node under --node-name: a switch to another name registers a new Node that turns Ready for the same host; the old one is left to its lease", async () => {
    const since = Date.now();
    const renamed = h.system("w1", { enable: true, role: "agent", tokenFile: TOKEN, extraFlags: "--node-name w1-metal" }, "6.12.8");
    h.kubelets.servicesChanged("w1", renamed);
    const n = await eventually("Node w1-metal Ready", async () => {
      const x = await unless(404, node("w1-metal"));
      return x !== undefined && readyOf(x) === "True" ? x : undefined;
    }, 20_000);
    assert.equal(n.status?.nodeInfo?.bootID, boots.get("w1"), "the host's boot");
    // The kubelet records the event once its status post returns, which may be after this read saw the Node Ready.
    await eventually("the timeline to name the host, not the Node, as Ready", async () => (events(since, "w1").some((e) => e.kind === "ready") ? true : undefined), 5_000);
    const oldLease = new Date(String((await h.api.coordination.readNamespacedLease({ name: "w1", namespace: "kube-node-lease" })).spec?.renewTime)).getTime();
    await new Promise((r) => setTimeout(r, 2_000));
    const later = new Date(String((await h.api.coordination.readNamespacedLease({ name: "w1", namespace: "kube-node-lease" })).spec?.renewTime)).getTime();
    assert.equal(later, oldLease, "nothing renews the old Node's Lease");
    h.kubelets.servicesChanged("w1", systems.get("w1") ?? "");
  });
});
