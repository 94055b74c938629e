/**
 * The simulated Kubernetes API server on loopback, driven by the real @kubernetes/client-node
 * and through our Cluster implementation (lib/cluster/kube.ts).
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, PolicyV1Api, setHeaderOptions } from "@kubernetes/client-node";
import type { Cluster, PodRef } from "../../lib/cluster/cluster";
import { kubeCluster } from "../../lib/cluster/kube";
import { KubeApiError } from "../../lib/cluster/kubeErrors";
import { type SimHarness, bootAll, raw, startSim, waitFor } from "./helpers/kube-harness";

type Status = { kind?: string; apiVersion?: string; reason?: string; code?: number; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };

function clients(h: SimHarness) {
  const kc = new KubeConfig();
  kc.loadFromString(h.kubeconfig);
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), policy: kc.makeApiClient(PolicyV1Api) };
}

async function rejectsWith(p: Promise<unknown>, check: (e: KubeApiError) => void): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KubeApiError, `expected a KubeApiError, got ${String(e)}`);
    check(e);
    return true;
  });
}

describe("simulated Kubernetes API server", function () {
  let h: SimHarness;
  let cluster: Cluster;
  let api: ReturnType<typeof clients>;

  beforeEach(async () => {
    h = await startSim();
    cluster = kubeCluster(h.kubeconfig, { requestTimeoutMs: 5000 });
    api = clients(h);
  });
  afterEach(async () => {
    await h?.stop();
  });

  it("answers 401 with a Status without the bearer token, and our client says so", async () => {
    const r = await raw(h, "GET", "/api/v1/nodes", { token: null });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
    const wrong = kubeCluster(h.kubeconfig.replace(h.token, "not-the-token"));
    await rejectsWith(wrong.listNodes(), (e) => {
      assert.equal(e.status, 401);
      assert.equal(e.operation, "list nodes");
      assert.match(e.message, /credentials/);
    });
    assert.throws(() => kubeCluster("clusters: [unclosed"), /the kubeconfig could not be read/);
    assert.throws(() => kubeCluster("apiVersion: v1\nkind: Config\n"), /no cluster for its current context/);
  });

  it("serves discovery like the real server, including pods/eviction in policy/v1", async () => {
    const version = (await raw(h, "GET", "/version")).body as { major: string; minor: string; gitVersion: string };
    assert.equal(version.major, "1");
    const v1 = (await raw(h, "GET", "/api/v1")).body as { kind: string; resources: Array<Record<string, unknown>> };
    assert.equal(v1.kind, "APIResourceList");
    assert.deepEqual(v1.resources.find((r) => r.name === "pods/eviction"),
      { name: "pods/eviction", singularName: "", namespaced: true, group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] });
    assert.equal(v1.resources.find((r) => r.name === "nodes")?.namespaced, false);
    const groups = (await raw(h, "GET", "/apis")).body as { kind: string; groups: Array<{ name: string }> };
    assert.deepEqual(groups.groups.map((g) => g.name), ["apps", "policy", "coordination.k8s.io"]);
    const appsList = (await raw(h, "GET", "/apis/apps/v1")).body as { groupVersion: string; resources: Array<{ name: string }> };
    assert.equal(appsList.groupVersion, "apps/v1");
    assert.ok(["deployments", "daemonsets", "statefulsets"].every((n) => appsList.resources.some((r) => r.name === n)));
    const missing = await raw(h, "GET", "/apis/batch/v1/jobs");
    assert.equal(missing.status, 404);
    assert.equal((missing.body as Status).kind, "Status");
    const watch = await raw(h, "GET", "/api/v1/pods?watch=true");
    assert.equal(watch.status, 405, "a watch is refused at once rather than left hanging");
    const list = (await raw(h, "GET", "/api/v1/nodes")).body as { kind: string; apiVersion: string; metadata: { resourceVersion: string } };
    assert.equal(list.kind, "NodeList");
    assert.match(list.metadata.resourceVersion, /^\d+$/);
  });

  it("serves Leases with the real server's optimistic concurrency: 409 on a second create and on a stale resourceVersion", async () => {
    const base = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
    const spec = { holderIdentity: "a", leaseDurationSeconds: 30, renewTime: "2026-01-01T00:00:00.000000Z" };
    assert.equal((await raw(h, "GET", `${base}/fleet`)).status, 404);
    const created = await raw(h, "POST", base, { body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "fleet" }, spec } });
    assert.equal(created.status, 201);
    const rv = (created.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const again = await raw(h, "POST", base, { body: { metadata: { name: "fleet" }, spec } });
    assert.equal(again.status, 409);
    assert.equal((again.body as { reason: string }).reason, "AlreadyExists");
    const put = (version: string | undefined, holder: string) =>
      raw(h, "PUT", `${base}/fleet`, { body: { metadata: { name: "fleet", ...(version === undefined ? {} : { resourceVersion: version }) }, spec: { ...spec, holderIdentity: holder } } });
    const b = await put(rv, "b");
    assert.equal(b.status, 200);
    assert.equal((b.body as { spec: { holderIdentity: string } }).spec.holderIdentity, "b");
    const stale = await put(rv, "c");
    assert.equal(stale.status, 409);
    assert.equal((stale.body as { reason: string }).reason, "Conflict");
    assert.equal((await put(undefined, "d")).status, 422, "Leases do not allow unconditional updates");
    assert.equal((await raw(h, "PUT", `${base}/fresh`, { body: { metadata: { name: "fresh" }, spec } })).status, 201, "a PUT without resourceVersion creates");
    const got = (await raw(h, "GET", `${base}/fleet`)).body as { spec: { holderIdentity: string } };
    assert.equal(got.spec.holderIdentity, "b");
    const seen = await cluster.getLease("kube-system", "fleet");
    assert.equal(seen?.spec.holderIdentity, "b");
    assert.equal((await cluster.updateLease("kube-system", "fleet", rv, { holderIdentity: "e" })).kind, "conflict");
    const w = await cluster.updateLease("kube-system", "fleet", seen!.resourceVersion, { ...seen!.spec, holderIdentity: "e", renewTime: "2026-01-01T00:00:10.000Z" });
    assert.equal(w.kind, "written");
    assert.equal(w.kind === "written" ? w.lease.spec.renewTime : "", "2026-01-01T00:00:10.000Z");
    assert.equal((await raw(h, "DELETE", `${base}/fresh`)).status, 200);
    assert.equal((await raw(h, "POST", "/apis/coordination.k8s.io/v1/namespaces/nowhere/leases", { body: { metadata: { name: "x" }, spec } })).status, 404);
  });

  it("turns Nodes Ready kubeletReadyMs after hostUp with the new bootID, and NotReady at once on hostDown", async () => {
    assert.ok((await cluster.listNodes()).every((n) => !n.ready), "nodes start NotReady");
    const up = Date.now();
    h.sim.hostUp("w1", "boot-a");
    const starting = await cluster.getNode("w1");
    assert.equal(starting?.ready, false);
    const ready = await waitFor("w1 Ready", async () => ((await cluster.getNode("w1"))?.ready ? Date.now() : undefined));
    assert.ok(ready - up >= h.timings.kubeletReadyMs, `Ready after ${ready - up} ms, before kubeletReadyMs`);
    const { annotations: _a, ...w1 } = (await cluster.getNode("w1"))!;
    assert.deepEqual(w1, { name: "w1", ready: true, bootId: "boot-a", unschedulable: false });
    const node = await api.core.readNode({ name: "w1" });
    const cond = node.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(cond?.reason, "KubeletReady");
    assert.ok(node.metadata?.uid && node.metadata.resourceVersion && node.metadata.creationTimestamp);
    assert.equal(node.status?.nodeInfo?.kubeletVersion, "v1.32.4");

    h.sim.hostDown("w1");
    const down = await api.core.readNode({ name: "w1" });
    assert.equal(down.status?.conditions?.find((c) => c.type === "Ready")?.status, "Unknown");
    assert.ok(down.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute"));
    assert.deepEqual(h.events.filter((e) => e.host === "w1").map((e) => [e.kind, e.detail]), [
      ["ready", { bootId: "boot-a" }],
      ["not-ready", { bootId: "boot-a" }],
    ]);
    assert.equal(await cluster.getNode("nope"), undefined);
  });

  it("cordons with annotations in the same patch, and an uncordon with null annotations removes them", async () => {
    await cluster.setUnschedulable("w1", true, { "example.com/by": "me" });
    const n = await api.core.readNode({ name: "w1" });
    assert.equal(n.spec?.unschedulable, true);
    assert.equal(n.metadata?.annotations?.["example.com/by"], "me");
    assert.equal(n.metadata?.annotations?.["node.alpha.kubernetes.io/ttl"], "0", "other annotations stay");
    assert.deepEqual((await cluster.getNode("w1"))?.annotations["example.com/by"], "me");
    await cluster.setUnschedulable("w1", false, { "example.com/by": null });
    const after = await api.core.readNode({ name: "w1" });
    assert.equal(after.spec?.unschedulable, undefined);
    assert.equal(after.metadata?.annotations?.["example.com/by"], undefined);
    assert.equal(after.metadata?.annotations?.["node.alpha.kubernetes.io/ttl"], "0");
  });

  it("creates a bare pod bound to a node, which a drain sees as uncontrolled with its emptyDir volumes, and nothing recreates once evicted", async () => {
    await bootAll(h);
    const body = { metadata: { name: "debug" }, spec: { nodeName: "w1", containers: [{ name: "sh", image: "busybox:1.36" }], volumes: [{ name: "scratch", emptyDir: {} }] } };
    const created = await api.core.createNamespacedPod({ namespace: "default", body });
    assert.equal(created.metadata?.ownerReferences, undefined);
    const seen = (await cluster.listPodsOnNode("w1")).find((p) => p.name === "debug");
    assert.deepEqual(seen && { owner: seen.owner, emptyDirs: seen.emptyDirs, phase: seen.phase }, { owner: "none", emptyDirs: ["scratch"], phase: "Running" });
    await assert.rejects(api.core.createNamespacedPod({ namespace: "default", body }), (e: { code?: number }) => e.code === 409);
    await assert.rejects(
      api.core.createNamespacedPod({ namespace: "default", body: { ...body, metadata: { name: "unbound" }, spec: { ...body.spec, nodeName: undefined } } }),
      (e: { code?: number; body?: string }) => e.code === 422 && /spec\.nodeName/.test(String(e.body)),
    );
    assert.equal((await cluster.evictPod({ namespace: "default", name: "debug", uid: created.metadata!.uid! })).kind, "evicted");
    await waitFor("the bare pod to go", async () => ((await cluster.podExists({ namespace: "default", name: "debug", uid: created.metadata!.uid! })) ? undefined : true));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await cluster.listPodsOnNode("w1")).some((p) => p.name.startsWith("debug")), false, "not recreated");
  });

  it("cordons and uncordons by PATCH in all three patch formats", async () => {
    await cluster.setUnschedulable("w1", true);
    const cordoned = await api.core.readNode({ name: "w1" });
    assert.equal(cordoned.spec?.unschedulable, true);
    assert.ok(cordoned.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unschedulable" && t.effect === "NoSchedule"));
    await api.core.patchNode({ name: "w1", body: { spec: { unschedulable: null } } }, setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch));
    assert.equal((await cluster.getNode("w1"))?.unschedulable, false);
    await api.core.patchNode(
      { name: "w1", body: [{ op: "add", path: "/spec/unschedulable", value: true }, { op: "add", path: "/metadata/labels/zone", value: "a" }] },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    const patched = await api.core.readNode({ name: "w1" });
    assert.equal(patched.spec?.unschedulable, true);
    assert.equal(patched.metadata?.labels?.zone, "a");
    await cluster.setUnschedulable("w1", false);
    assert.equal((await api.core.readNode({ name: "w1" })).spec?.unschedulable, undefined);
    assert.deepEqual(h.events.map((e) => `${e.host}:${e.kind}`), ["w1:cordon", "w1:uncordon", "w1:cordon", "w1:uncordon"]);
    await rejectsWith(cluster.setUnschedulable("nope", true), (e) => {
      assert.equal(e.status, 404);
      assert.equal(e.operation, "cordon node nope");
      assert.match(e.message, /nodes "nope" not found/);
    });
  });

  it("lists pods by field and label selectors", async () => {
    const onW1 = await cluster.listPodsOnNode("w1");
    const all = await api.core.listPodForAllNamespaces();
    assert.deepEqual(onW1.map((p) => p.name).sort(), all.items.filter((p) => p.spec?.nodeName === "w1").map((p) => p.metadata?.name).sort());
    assert.ok(onW1.length >= 3);
    const notW1 = await api.core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName!=w1" });
    assert.equal(notW1.items.length + onW1.length, all.items.length);
    const count = async (labelSelector: string) => (await api.core.listPodForAllNamespaces({ labelSelector })).items.length;
    assert.equal(await count("app=web"), 3);
    assert.equal(await count("k8s-app in (kube-proxy,kube-dns)"), 5);
    assert.equal(await count("app notin (web,db),!k8s-app,!component"), 3, "the flannel pods");
    assert.equal(await count("component"), 1, "one mirror pod on the one control plane");
    const byName = await api.core.listNamespacedPod({ namespace: "default", fieldSelector: "metadata.name=db-0" });
    assert.deepEqual(byName.items.map((p) => p.metadata?.name), ["db-0"]);
    const bad = await raw(h, "GET", "/api/v1/pods?fieldSelector=status.hostIP%3D1");
    assert.equal(bad.status, 400);
    assert.equal((bad.body as Status).message, "field label not supported: status.hostIP");
  });

  it("identifies DaemonSet and mirror pods and fills ownerReferences like the controllers", async () => {
    const onCp = await cluster.listPodsOnNode("cp1");
    const owner = (prefix: string) => onCp.filter((p) => p.name.startsWith(prefix)).map((p) => p.owner);
    assert.deepEqual(owner("kube-apiserver-"), ["mirror"]);
    assert.deepEqual(owner("kube-proxy-"), ["daemonset"]);
    assert.deepEqual(owner("flannel-"), ["daemonset"]);
    assert.ok(onCp.filter((p) => p.owner === "controller").length >= 1);
    const pods = (await api.core.listPodForAllNamespaces()).items;
    const refOf = (name: string) => pods.find((p) => p.metadata?.name?.startsWith(name))?.metadata?.ownerReferences?.[0];
    assert.equal(refOf("web-")?.kind, "ReplicaSet");
    assert.equal(refOf("db-0")?.kind, "StatefulSet");
    assert.equal(refOf("kube-apiserver-cp1")?.kind, "Node");
    assert.equal(refOf("kube-proxy-")?.controller, true);
    assert.ok(pods.find((p) => p.metadata?.name?.startsWith("web-"))?.spec?.volumes?.some((v) => v.emptyDir !== undefined));
    const rs = await api.apps.listNamespacedReplicaSet({ namespace: "default" });
    assert.equal(rs.items[0]?.metadata?.name, refOf("web-")?.name);
  });

  it("evicts one web pod, refuses a concurrent second one beyond the PDB with 429, then reschedules", async () => {
    await bootAll(h);
    const webs = (await api.core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" })).items;
    const refs: PodRef[] = webs.slice(0, 2).map((p) => ({ namespace: "default", name: p.metadata!.name!, uid: p.metadata!.uid! }));
    const nodeOf = new Map(webs.map((p) => [p.metadata!.name!, p.spec!.nodeName!]));
    for (const r of refs) await cluster.setUnschedulable(nodeOf.get(r.name)!, true);
    const started = Date.now();
    const results = await Promise.all(refs.map((r) => cluster.evictPod(r)));
    const evictedAt = refs.findIndex((_, i) => results[i].kind === "evicted");
    assert.deepEqual(results.map((r) => r.kind).sort(), ["blocked", "evicted"]);
    const blocked = results.find((r) => r.kind === "blocked");
    assert.match(blocked?.kind === "blocked" ? blocked.message : "", /^Cannot evict pod as it would violate the pod's disruption budget\. \(The disruption budget web needs 2 healthy pods and has 2 currently\)$/);

    const pdb = await api.policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "default" });
    assert.deepEqual([pdb.status?.disruptionsAllowed, pdb.status?.currentHealthy, pdb.status?.desiredHealthy, pdb.status?.expectedPods], [0, 2, 2, 3]);
    const other = refs[1 - evictedAt];
    await assert.rejects(
      api.core.createNamespacedPodEviction({ name: other.name, namespace: "default", body: { metadata: { name: other.name, namespace: "default" } } }),
      (e: { code?: number; body?: string }) => {
        const s = JSON.parse(String(e.body)) as Status;
        assert.equal(e.code, 429);
        assert.deepEqual([s.kind, s.apiVersion, s.reason, s.code], ["Status", "v1", "TooManyRequests", 429]);
        assert.equal(s.details?.causes?.[0]?.reason, "DisruptionBudget");
        return true;
      },
    );
    const web = () => cluster.listWorkloads("default").then((ws) => ws.find((w) => w.name === "web"));
    assert.equal((await web())?.reason, 'Waiting for deployment "web" rollout to finish: 2 out of 3 new replicas have been updated...');

    const evicted = refs[evictedAt];
    await waitFor("the evicted pod to terminate", async () => ((await cluster.podExists(evicted)) ? undefined : true));
    const gone = Date.now() - started;
    const healthy = await waitFor("web healthy again", async () => ((await web())?.healthy ? Date.now() - started : undefined));
    assert.ok(gone >= h.timings.podTerminationMs, `terminated after ${gone} ms`);
    assert.ok(healthy >= h.timings.rescheduleMs, `replaced after ${healthy} ms`);
    const now = (await api.core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" })).items;
    assert.equal(now.length, 3);
    const fresh = now.filter((p) => !webs.some((w) => w.metadata?.name === p.metadata?.name));
    assert.equal(fresh.length, 1);
    assert.ok(!refs.some((r) => nodeOf.get(r.name) === fresh[0].spec?.nodeName), "the replacement avoids the cordoned nodes");
    assert.deepEqual(await cluster.evictPod(evicted), { kind: "gone" }, "a pod already gone answers 404");
    const evictions = h.events.filter((e) => e.kind === "eviction").map((e) => e.detail?.result);
    assert.deepEqual(evictions.sort(), ["blocked", "blocked", "evicted"]);
  });

  it("recreates an evicted StatefulSet pod under the same name with a new uid", async () => {
    await bootAll(h);
    const old = await api.core.readNamespacedPod({ name: "db-1", namespace: "default" });
    const ref: PodRef = { namespace: "default", name: "db-1", uid: old.metadata!.uid! };
    assert.deepEqual(await cluster.evictPod(ref), { kind: "evicted" });
    const fresh = await waitFor("db-1 recreated", async () => {
      const p = await api.core.readNamespacedPod({ name: "db-1", namespace: "default" }).catch(() => undefined);
      return p !== undefined && p.metadata?.uid !== ref.uid ? p : undefined;
    });
    assert.equal(await cluster.podExists(ref), false, "the old uid is gone even though the name is back");
    assert.deepEqual(await cluster.evictPod(ref), { kind: "gone" }, "the uid precondition protects the successor");
    assert.equal(fresh.metadata?.ownerReferences?.[0]?.kind, "StatefulSet");
    await waitFor("db healthy", async () => ((await cluster.listWorkloads("default")).find((w) => w.name === "db")?.healthy ? true : undefined));
  });

  it("deletes a pod gracefully: deletionTimestamp first, gone after podTerminationMs", async () => {
    await bootAll(h);
    const [pod] = (await api.core.listNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=metrics-server" })).items;
    const name = pod.metadata!.name!;
    const deleted = await api.core.deleteNamespacedPod({ name, namespace: "kube-system" });
    assert.ok(deleted.metadata?.deletionTimestamp, "the answer is the pod marked for deletion");
    assert.equal(deleted.metadata?.deletionGracePeriodSeconds, 30);
    assert.ok(await cluster.podExists({ namespace: "kube-system", name, uid: pod.metadata!.uid! }));
    await waitFor("the deleted pod to disappear", async () =>
      (await api.core.listNamespacedPod({ namespace: "kube-system", fieldSelector: `metadata.name=${name}` })).items.length === 0 ? true : undefined);
    const all = await api.apps.listDeploymentForAllNamespaces();
    assert.deepEqual(all.items.map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`).sort(),
      ["default/web", "kube-system/coredns", "kube-system/metrics-server"]);
    await waitFor("metrics-server replaced", async () =>
      (await api.apps.readNamespacedDeployment({ name: "metrics-server", namespace: "kube-system" })).status?.availableReplicas === 1 ? true : undefined);
  });

  it("degrades workload statuses while a host is down and recovers after it returns", async () => {
    await bootAll(h);
    assert.ok((await cluster.listWorkloads("kube-system")).every((w) => w.healthy));
    h.sim.hostDown("w1");
    const sys = await waitFor("kube-proxy unhealthy", async () => {
      const ws = await cluster.listWorkloads("kube-system");
      return ws.find((w) => w.name === "kube-proxy" && !w.healthy) ? ws : undefined;
    });
    assert.equal(sys.find((w) => w.name === "kube-proxy")?.reason, 'Waiting for daemon set "kube-proxy" rollout to finish: 2 of 3 updated pods are available...');
    const ds = await api.apps.readNamespacedDaemonSet({ name: "kube-proxy", namespace: "kube-system" });
    assert.deepEqual([ds.status?.desiredNumberScheduled, ds.status?.currentNumberScheduled, ds.status?.numberReady, ds.status?.numberUnavailable], [3, 3, 2, 1]);
    const dep = await api.apps.readNamespacedDeployment({ name: "web", namespace: "default" });
    assert.equal(dep.status?.conditions?.find((c) => c.type === "Available")?.status, "False");
    assert.equal(dep.status?.observedGeneration, dep.metadata?.generation);
    assert.equal((await cluster.listPodsOnNode("w1")).length, 5, "pods stay bound to the NotReady node");

    h.sim.hostUp("w1", "boot-w1-2");
    await waitFor("every workload healthy again", async () => {
      const ws = [...(await cluster.listWorkloads("kube-system")), ...(await cluster.listWorkloads("default"))];
      return ws.every((w) => w.healthy) ? true : undefined;
    });
    const restarted = (await api.core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=w1" })).items;
    assert.ok(restarted.every((p) => p.status?.containerStatuses?.[0]?.restartCount === 1), "the reboot restarted the containers");
  });

  it("pdb-blocks: a pinned pod whose eviction answers 429 until the fault is cleared", async () => {
    await bootAll(h);
    h.sim.setFault("w2", "pdb-blocks", true);
    const pinned = (await cluster.listPodsOnNode("w2")).find((p) => p.name.startsWith("pinned-w2-"));
    assert.ok(pinned, "the fault adds a pod pinned to w2");
    const pdb = await api.policy.readNamespacedPodDisruptionBudget({ name: "pinned-w2", namespace: "default" });
    assert.deepEqual([pdb.spec?.maxUnavailable, pdb.status?.disruptionsAllowed, pdb.status?.expectedPods], [0, 0, 1]);
    const first = await cluster.evictPod(pinned);
    assert.equal(first.kind, "blocked");
    assert.match(first.kind === "blocked" ? first.message : "", /pinned-w2 needs 1 healthy pods and has 1 currently/);
    assert.equal(first.kind === "blocked" ? first.budget : undefined, "pinned-w2", "the budget that refused is named");
    h.sim.setFault("w2", "pdb-blocks", false);
    const after = await cluster.evictPod(pinned);
    assert.ok(after.kind === "evicted" || after.kind === "gone", `after clearing: ${after.kind}`);
    await waitFor("the pinned pod to go", async () => ((await cluster.podExists(pinned)) ? undefined : true));
    assert.deepEqual(h.events.filter((e) => e.kind === "eviction").map((e) => [e.host, e.detail?.result]).slice(0, 1), [["w2", "blocked"]]);
  });

  it("kubelet-never-ready: the node reports its new boot but never turns Ready until cleared", async () => {
    h.sim.setFault("w1", "kubelet-never-ready", true);
    h.sim.hostUp("w1", "boot-stuck");
    await new Promise((r) => setTimeout(r, h.timings.kubeletReadyMs * 3));
    const { annotations: _a, ...w1 } = (await cluster.getNode("w1"))!;
    assert.deepEqual(w1, { name: "w1", ready: false, bootId: "boot-stuck", unschedulable: false });
    const node = await api.core.readNode({ name: "w1" });
    const cond = node.status?.conditions?.find((c) => c.type === "Ready");
    assert.deepEqual([cond?.status, cond?.reason], ["False", "KubeletNotReady"]);
    assert.match(cond?.message ?? "", /cni plugin not initialized/);
    h.sim.setFault("w1", "kubelet-never-ready", false);
    await waitFor("w1 Ready once the fault is cleared", async () => ((await cluster.getNode("w1"))?.ready ? true : undefined));
  });

  it("deletes a Node, its pods with it, and tolerates deleting it again", async () => {
    await bootAll(h);
    await cluster.deleteNode("w2");
    assert.equal(await cluster.getNode("w2"), undefined);
    assert.deepEqual(await cluster.listPodsOnNode("w2"), []);
    await cluster.deleteNode("w2");
    assert.deepEqual(h.events.filter((e) => e.kind === "node-deleted").map((e) => e.host), ["w2"]);
    await waitFor("workloads healthy on the remaining nodes", async () => {
      const ws = [...(await cluster.listWorkloads("kube-system")), ...(await cluster.listWorkloads("default"))];
      return ws.every((w) => w.healthy) ? ws : undefined;
    });
    const ds = await api.apps.readNamespacedDaemonSet({ name: "flannel", namespace: "kube-system" });
    assert.equal(ds.status?.desiredNumberScheduled, 2);
    h.sim.hostUp("w2", "boot-w2-2");
    await waitFor("w2 registered again and Ready", async () => ((await cluster.getNode("w2"))?.ready ? true : undefined));
  });

  it("gives up at the request deadline, and names an unreachable server", async () => {
    const accepted = new Set<net.Socket>();
    const silent = net.createServer((sock) => void accepted.add(sock));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const stuck = kubeCluster(h.kubeconfig.replace(h.url, `https://127.0.0.1:${port}`), { requestTimeoutMs: 300 });
      const started = Date.now();
      await rejectsWith(stuck.getNode("w1"), (e) => {
        assert.equal(e.status, undefined);
        assert.equal(e.operation, "get node w1");
        assert.match(e.message, /no answer within 300 ms/);
      });
      assert.ok(Date.now() - started < 5000, "the deadline held");
    } finally {
      for (const sock of accepted) sock.destroy();
      await new Promise((r) => silent.close(r));
    }
    const url = h.url;
    await h.stop();
    await rejectsWith(kubeCluster(h.kubeconfig).listNodes(), (e) => {
      assert.equal(e.status, undefined);
      assert.match(e.message, new RegExp(`reachable.*${url.replace(/[.]/g, "\\.")}|${url.replace(/[.]/g, "\\.")}.*reachable`));
    });
  });

  it("stops without leaving timers, servers or sockets behind", async () => {
    const count = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap" || r === "TCPSocketWrap").length;
    const listening = count();
    await cluster.listNodes();
    await h.stop();
    await waitFor("the server and its connections closed", () => (count() <= listening - 1 ? true : undefined), 2000);
    // Count the intervals a fresh simulator starts and check stop() clears every one of them.
    const created: unknown[] = [];
    const cleared = new Set<unknown>();
    const realSet = global.setInterval;
    const realClear = global.clearInterval;
    global.setInterval = ((...args: Parameters<typeof realSet>) => {
      const t = realSet(...args);
      created.push(t);
      return t;
    }) as unknown as typeof setInterval;
    global.clearInterval = ((t: Parameters<typeof realClear>[0]) => {
      cleared.add(t);
      realClear(t);
    }) as typeof clearInterval;
    try {
      const again = await startSim();
      assert.ok(created.length >= 1, "a running simulator has its tick timer");
      await again.stop();
    } finally {
      global.setInterval = realSet;
      global.clearInterval = realClear;
    }
    assert.ok(created.every((t) => cleared.has(t)), "stop() clears every interval it started");
  });
});
