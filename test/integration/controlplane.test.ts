/**
 * The real Kubernetes control plane (sim/controlplane): etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler built by scripts/install-kube.sh, driven by
 * @kubernetes/client-node and kubectl of the same release. Without the binaries the suite fails
 * with the command that builds them; it never skips.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { kubeCluster } from "../../lib/cluster/kube";
import { ControlPlane, locateBinaries } from "../../sim/controlplane/index";
import { type ControlPlaneBinaries, requireBinaries } from "../../sim/controlplane/binaries";
import { groupAlive } from "../../sim/controlplane/processes";
import { isAlive, type ProcRef } from "../../sim/proc";
import { type Clients, clients, eventually, kubectl, postNodeStatus, readyOf, registerNode, renewLease, reportRunning } from "./helpers/controlplane-harness";

type Status = { reason?: string; code?: number; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };

/** Short node lifecycle timings, given to kube-controller-manager through its own flags. */
const GRACE_SECONDS = 8;
const PERIOD_SECONDS = 1;

describe("the real Kubernetes control plane (sim/controlplane)", function () {
  this.timeout(180_000);
  let bins: ControlPlaneBinaries;
  let dir: string;
  let cp: ControlPlane | undefined;
  let api: Clients;
  let heartbeat: NodeJS.Timeout | undefined;
  const run = (args: readonly string[]) => kubectl(bins.kubectl, cp!.kubeconfigPath, args);

  before(async function () {
    bins = requireBinaries(locateBinaries());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "controlplane-test-"));
    cp = await ControlPlane.start({
      dataDir: path.join(dir, "data"),
      kubeconfigPath: path.join(dir, "kubeconfig"),
      nodeMonitorGracePeriodSeconds: GRACE_SECONDS,
      nodeMonitorPeriodSeconds: PERIOD_SECONDS,
    });
    const mem = cp.memory();
    const mib = (b: number) => Math.round(b / 2 ** 20);
    console.log(
      `      (control plane usable after ${cp.startMs} ms; resident ${mib(mem.reduce((s, m) => s + m.rssBytes, 0))} MiB: ` +
        `${mem.map((m) => `${m.component} ${mib(m.rssBytes)}`).join(", ")})`,
    );
    api = clients(fs.readFileSync(cp.kubeconfigPath, "utf8"));
  });

  after(async () => {
    clearInterval(heartbeat);
    await cp?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes an admin kubeconfig that kubectl of the same release uses; the admin may do anything, other identities only what RBAC grants", async () => {
    assert.equal(fs.statSync(cp!.kubeconfigPath).mode & 0o777, 0o600);
    const version = await run(["version", "-o", "json"]);
    assert.equal(version.code, 0, version.stderr);
    const v = JSON.parse(version.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    assert.deepEqual([v.clientVersion.gitVersion, v.serverVersion.gitVersion], ["v1.37.2", "v1.37.2"]);
    assert.equal((await run(["get", "--raw", "/readyz"])).stdout, "ok");
    assert.equal((await run(["auth", "can-i", "*", "*"])).stdout.trim(), "yes");
    const scheduler = await run(["auth", "can-i", "delete", "namespaces", "--as", "system:kube-scheduler"]);
    assert.deepEqual([scheduler.code, scheduler.stdout.trim()], [1, "no"]);
    const sa = await api.core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
    assert.equal(sa.metadata?.name, "default");
  });

  it("a registered Node's Lease can be renewed, and the node lifecycle controller keeps a renewing Node Ready", async () => {
    await registerNode(api, "w1");
    const first = await api.coordination.readNamespacedLease({ name: "w1", namespace: "kube-node-lease" });
    await new Promise((r) => setTimeout(r, 50));
    const renewed = await renewLease(api, "w1");
    assert.notEqual(renewed.metadata?.resourceVersion, first.metadata?.resourceVersion);
    assert.ok(new Date(String(renewed.spec?.renewTime)) > new Date(String(first.spec?.renewTime)), "renewTime moved forward");
    heartbeat = setInterval(() => void renewLease(api, "w1").then(() => postNodeStatus(api, "w1")).catch(() => undefined), 1000);
    // Longer than the grace period: a Node without renewals would be Unknown by now.
    await new Promise((r) => setTimeout(r, (GRACE_SECONDS + 3) * 1000));
    const node = await api.core.readNode({ name: "w1" });
    assert.equal(readyOf(node), "True");
    assert.deepEqual((node.spec?.taints ?? []).map((t) => t.key), []);
    const got = await run(["get", "node", "w1", "--no-headers"]);
    assert.match(got.stdout, /^w1\s+Ready\s+<none>\s+\S+\s+v1\.37\.2$/m);
    // The rollout's own client reads it through the same kubeconfig.
    const seen = await kubeCluster(fs.readFileSync(cp!.kubeconfigPath, "utf8"), { requestTimeoutMs: 5000 }).getNode("w1");
    assert.deepEqual([seen?.ready, seen?.bootId, seen?.unschedulable], [true, "boot-w1-1", false]);
  });

  it("kube-apiserver refuses to evict a pod its PodDisruptionBudget protects: 429 with cause DisruptionBudget", async () => {
    const labels = { app: "web" };
    await api.apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { nodeSelector: { "kubernetes.io/hostname": "w1" }, containers: [{ name: "web", image: "nginx:1.27" }] } },
        },
      },
    });
    await api.policy.createNamespacedPodDisruptionBudget({
      namespace: "default",
      body: { metadata: { name: "web" }, spec: { minAvailable: 2, selector: { matchLabels: labels } } },
    });
    // kube-scheduler binds the ReplicaSet's pods to w1; the test plays w1's kubelet.
    const pods = await eventually("kube-scheduler to bind both web pods to w1", async () => {
      const list = (await api.core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" })).items;
      return list.length === 2 && list.every((p) => p.spec?.nodeName === "w1") ? list : undefined;
    }, 60_000);
    for (const p of pods) await reportRunning(api, p);
    await eventually("the disruption controller to count both pods healthy", async () => {
      const s = (await api.policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "default" })).status;
      return s?.currentHealthy === 2 && s.disruptionsAllowed === 0 ? s : undefined;
    }, 60_000);

    const victim = pods[0].metadata?.name ?? "";
    await assert.rejects(
      api.core.createNamespacedPodEviction({ name: victim, namespace: "default", body: { metadata: { name: victim, namespace: "default" } } }),
      (e: { code?: number; body?: string }) => {
        assert.equal(e.code, 429);
        const s = JSON.parse(String(e.body)) as Status;
        assert.deepEqual([s.reason, s.code], ["TooManyRequests", 429]);
        assert.equal(s.details?.causes?.[0]?.reason, "DisruptionBudget");
        assert.match(s.details?.causes?.[0]?.message ?? "", /The disruption budget web needs 2 healthy pods and has 2 currently/);
        return true;
      },
    );
    const drain = await run(["drain", "w1", "--ignore-daemonsets", "--timeout=4s"]);
    assert.notEqual(drain.code, 0, drain.stdout);
    assert.match(drain.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);

    // Allowed once the budget permits it: the pod is then Terminating until its kubelet removes it.
    await api.policy.patchNamespacedPodDisruptionBudget(
      { name: "web", namespace: "default", body: [{ op: "replace", path: "/spec/minAvailable", value: 1 }] },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    await eventually("the budget to allow one disruption", async () => {
      const s = (await api.policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "default" })).status;
      return s?.disruptionsAllowed === 1 ? s : undefined;
    }, 30_000);
    await api.core.createNamespacedPodEviction({ name: victim, namespace: "default", body: { metadata: { name: victim, namespace: "default" } } });
    const evicted: V1Pod = await api.core.readNamespacedPod({ name: victim, namespace: "default" });
    assert.ok(evicted.metadata?.deletionTimestamp, "the evicted pod carries a deletionTimestamp");
  });

  it(`a Node whose Lease stops is Unknown after the ${GRACE_SECONDS}s grace period given by --node-monitor-grace-period, and tainted unreachable`, async () => {
    await registerNode(api, "w2");
    const started = Date.now();
    const node = await eventually("the node lifecycle controller to mark w2 Unknown", async () => {
      const n = await api.core.readNode({ name: "w2" });
      return readyOf(n) === "Unknown" ? n : undefined;
    }, 40_000);
    const elapsed = Date.now() - started;
    // Not before the grace period, and long before kube-controller-manager's default of 50 s.
    assert.ok(elapsed >= (GRACE_SECONDS - 1) * 1000 && elapsed < 40_000, `took ${elapsed} ms`);
    assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.reason, "NodeStatusUnknown");
    await eventually("the unreachable NoExecute taint on w2", async () => {
      const taints = (await api.core.readNode({ name: "w2" })).spec?.taints ?? [];
      return taints.some((t) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute") ? true : undefined;
    }, 20_000);
    assert.equal(readyOf(await api.core.readNode({ name: "w1" })), "True", "w1, whose Lease is renewed, stays Ready");
    console.log(`      (w2 went Unknown ${elapsed} ms after its last renewal)`);
  });

  it("stop() ends every process group and waits for it; a second stop() is a no-op", async () => {
    clearInterval(heartbeat);
    const procs = cp!.processes();
    assert.deepEqual(procs.map((p) => p.component), ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]);
    const refs: ProcRef[] = procs.map((p) => p.ref);
    assert.ok(refs.every(isAlive), "all four run before stop()");
    const started = Date.now();
    await cp!.stop();
    console.log(`      (stopped in ${Date.now() - started} ms)`);
    for (const r of refs) {
      assert.ok(!isAlive(r), `pid ${r.pid} still runs`);
      assert.ok(!groupAlive(r.pid), `process group ${r.pid} still has members`);
    }
    await cp!.stop();
  });
});

describe("a control plane that cannot start (sim/controlplane)", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "controlplane-fail-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The real binaries, but kube-apiserver replaced by a shell script. */
  function withApiserver(script: string): ControlPlaneBinaries {
    const fake = path.join(dir, "kube-apiserver");
    fs.writeFileSync(fake, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    return { ...locateBinaries(), kubeApiserver: fake };
  }

  async function startFails(binaries: ControlPlaneBinaries, startTimeoutMs: number, expected: RegExp): Promise<ProcRef[]> {
    const started: ProcRef[] = [];
    await assert.rejects(
      ControlPlane.start({ dataDir: path.join(dir, "data"), kubeconfigPath: path.join(dir, "kubeconfig"), binaries, startTimeoutMs, onProcess: (ref) => started.push(ref) }),
      (e: Error) => {
        assert.match(e.message, expected);
        return true;
      },
    );
    assert.ok(!fs.existsSync(path.join(dir, "kubeconfig")), "no kubeconfig for a control plane that never became usable");
    return started;
  }

  it("a component that exits fails the start at once with its exit code and log, and etcd is stopped", async () => {
    const started = Date.now();
    const refs = await startFails(withApiserver('echo "E0101 unknown flag: --simulated-failure" >&2; exit 3'), 60_000,
      /did not start: kube-apiserver exited with code 3; its log .*kube-apiserver\.log ends:\n(.|\n)*unknown flag: --simulated-failure(.|\n)*while waiting for kube-apiserver https:\/\/127\.0\.0\.1:\d+\/readyz to answer ok/);
    assert.ok(Date.now() - started < 30_000, "did not wait for the deadline");
    assert.equal(refs.length, 2, "etcd and kube-apiserver were started");
    for (const r of refs) assert.ok(!isAlive(r) && !groupAlive(r.pid), `pid ${r.pid} left behind`);
  });

  it("a component that never gets ready fails at the deadline naming what it waited for, and its whole process group is killed", async () => {
    // The fake ignores SIGTERM and leaves a child of its own in its process group.
    const refs = await startFails(withApiserver("trap '' TERM; sleep 1000 & wait"), 6_000,
      /did not start: timed out after \d+ ms waiting for kube-apiserver https:\/\/127\.0\.0\.1:\d+\/readyz to answer ok \(last: .*ECONNREFUSED/);
    assert.equal(refs.length, 2);
    for (const r of refs) assert.ok(!isAlive(r) && !groupAlive(r.pid), `process group ${r.pid} left behind`);
  });

  it("missing binaries fail before anything starts, naming the build command", async () => {
    const refs = await startFails({ ...locateBinaries(), kubeScheduler: path.join(dir, "no-such-kube-scheduler") }, 60_000,
      /missing .*no-such-kube-scheduler\. Build it with `bash scripts\/install-kube\.sh`/);
    assert.deepEqual(refs, []);
  });
});
