/**
 * Drains and cordons of the NixosHost provider against the simulated fleet: pods kubectl drain
 * refuses stop the drain before anything is evicted unless the inventory allows them, an
 * operator's cordon survives a rollout, and a cordon a failed rollout left is lifted by the
 * next successful one. Node state is read back through the API.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CoreV1Api, KubeConfig, PatchStrategy, PolicyV1Api, setHeaderOptions, type V1Node } from "@kubernetes/client-node";
import { kubeCluster } from "../../lib/cluster/kube";
import { CORDONED_AT_ANNOTATION, CORDONED_BY_ANNOTATION, cordonForRollout } from "../../lib/rollout/cordon";
import type { HostSpec } from "../../lib/rollout/spec";
import type { HostProps } from "../../providers/props";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { inventoryFor, planForFleet, rollOutThrough } from "./helpers/provider-harness";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
const TOKEN = "k3s-join-token-drain-tests";
const DISRUPTIVE = ["cordon", "uncordon", "eviction", "reboot-started"];

describe("drains and cordons against the simulated fleet", function () {
  this.timeout(240_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  let core: CoreV1Api;
  const state = new Map<string, HostProps>();

  function plan(edit: (inv: ReturnType<typeof inventoryFor>) => void = () => undefined): Map<string, HostSpec> {
    const inv = inventoryFor();
    edit(inv);
    return new Map(planForFleet(inv, fj, { k3sToken: TOKEN }).map((s) => [s.name, s]));
  }
  /** The kernel parameters each host (by index) was last rolled out with. */
  const kernelParams = new Map<number, string[]>();
  let param = 0;
  /** The host's spec with a new kernel parameter, which needs a reboot. */
  const rebootingSpec = (host: number, edit: (inv: ReturnType<typeof inventoryFor>) => void = () => undefined) => {
    kernelParams.set(host, [`drain-test=${++param}`]);
    return liveSpec(host, {}, edit);
  };
  /** The host's spec with its kernel parameters as they are and these environment variables: no reboot. */
  const liveSpec = (host: number, variables: Record<string, string>, edit: (inv: ReturnType<typeof inventoryFor>) => void = () => undefined) =>
    plan((inv) => {
      inv.hosts[host].nix = { settings: { boot: { kernelParams: kernelParams.get(host) ?? [] }, environment: { variables } } };
      edit(inv);
    }).get(`srv${host + 1}`)!;

  const rollOut = (spec: HostSpec) => rollOutThrough(state, spec);
  const disruptions = (since: number, host: string): string[] =>
    fleet
      .timeline()
      .filter((e: TimelineEvent) => e.t >= since && e.host === host && DISRUPTIVE.includes(e.kind))
      .map((e) => (e.kind === "eviction" ? `eviction ${String(e.detail?.pod)}` : e.kind));
  const node = async (name: string): Promise<V1Node> => core.readNode({ name });
  const cordonRecord = (n: V1Node) =>
    Object.fromEntries(Object.entries(n.metadata?.annotations ?? {}).filter(([k]) => k === CORDONED_BY_ANNOTATION || k === CORDONED_AT_ANNOTATION));

  /** A pod created straight through the API (like `kubectl run`), bound to `nodeName`. */
  async function barePod(nodeName: string, name: string, emptyDirs: readonly string[] = []): Promise<string> {
    const pod = await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name, labels: { run: name } },
        spec: {
          nodeName,
          containers: [{ name, image: "busybox:1.36", command: ["sleep", "infinity"] }],
          volumes: emptyDirs.map((v) => ({ name: v, emptyDir: {} })),
        },
      },
    });
    return pod.metadata!.uid!;
  }
  const podUid = async (name: string): Promise<string | undefined> => {
    const found = (await core.listNamespacedPod({ namespace: "default", fieldSelector: `metadata.name=${name}` })).items[0];
    return found?.metadata?.uid;
  };
  const setCordon = (name: string, unschedulable: boolean) =>
    core.patchNode({ name, body: { spec: { unschedulable: unschedulable ? true : null } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));

  /** When the timeline recorded the last cordon of `host`, waiting up to 10 s for it to show. */
  async function cordonSeen(host: string): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const last = fleet.timeline().filter((e) => e.host === host && (e.kind === "cordon" || e.kind === "uncordon")).at(-1);
      if (last?.kind === "cordon") return last.t;
      if (Date.now() > deadline) throw new Error(`the cordon of ${host} never reached the timeline within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-drain-"));
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
    const kc = new KubeConfig();
    kc.loadFromString(fs.readFileSync(fj.kubeconfig, "utf8"));
    core = kc.makeApiClient(CoreV1Api);
    for (const spec of plan().values()) await rollOut(spec);
  });

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("refuses to drain a node with a pod that declares no controller, before touching it; drain.force lets the drain evict it", async () => {
    const uid = await barePod("srv3", "debug-shell");
    let since = Date.now();
    await assert.rejects(rollOut(rebootingSpec(2)), (e: Error) => {
      assert.match(e.message, /^srv3: drain failed: refused to drain srv3, nothing was evicted/);
      assert.match(e.message, /default\/debug-shell: declares no controller, allowed by drain\.force/);
      assert.match(e.message, /what to do: .*drain\.force: true/);
      assert.doesNotMatch(e.message, /uncordoned/);
      return true;
    });
    assert.deepEqual(disruptions(since, "srv3"), [], "no cordon, no eviction, no reboot");
    assert.notEqual((await node("srv3")).spec?.unschedulable, true);
    assert.deepEqual(cordonRecord(await node("srv3")), {});
    assert.equal(await podUid("debug-shell"), uid, "the pod still runs");

    since = Date.now();
    const { props, lines } = await rollOut(rebootingSpec(2, (inv) => (inv.hosts[2].drain = { force: true })));
    assert.equal(props.rebooted, true);
    assert.ok(lines.includes("srv3: evicting default/debug-shell, which declares no controller (drain.force)"), lines.join("\n"));
    const d = disruptions(since, "srv3");
    assert.ok(d.includes("eviction debug-shell") && d.indexOf("eviction debug-shell") < d.indexOf("reboot-started"), d.join(","));
    assert.equal(await podUid("debug-shell"), undefined, "evicted, and nothing recreated it");
    assert.notEqual((await node("srv3")).spec?.unschedulable, true);
    assert.deepEqual(cordonRecord(await node("srv3")), {}, "the cordon's record goes with the cordon");
  });

  it("refuses to drain a node with an emptyDir pod unless drain.deleteEmptyDirData allows it, per host", async () => {
    await barePod("srv2", "scratch-pad", ["scratch"]);
    const since = Date.now();
    // force covers the missing controller, so only the emptyDir volume stands in the way.
    const refused = rebootingSpec(1, (inv) => (inv.hosts[1].drain = { force: true, deleteEmptyDirData: false }));
    assert.deepEqual(refused.drain, { force: true, deleteEmptyDirData: false });
    await assert.rejects(rollOut(refused), (e: Error) => {
      assert.match(e.message, /^srv2: drain failed: refused to drain srv2, nothing was evicted/);
      assert.match(e.message, /default\/scratch-pad: has emptyDir volumes \(scratch\), allowed by drain\.deleteEmptyDirData/);
      assert.doesNotMatch(e.message, /scratch-pad: declares no controller/);
      return true;
    });
    assert.deepEqual(disruptions(since, "srv2"), []);
    assert.ok((await podUid("scratch-pad")) !== undefined);

    const { props } = await rollOut(rebootingSpec(1, (inv) => (inv.hosts[1].drain = { force: true })));
    assert.equal(props.rebooted, true);
    assert.equal(await podUid("scratch-pad"), undefined);
  });

  it("asks again every 5 seconds while a PodDisruptionBudget blocks, names the pod and the budget, and says the node was uncordoned", async () => {
    const since = Date.now();
    await fleet.setFault("srv3", "pdb-blocks", true);
    try {
      await assert.rejects(rollOut(rebootingSpec(2, (inv) => (inv.timeouts = { ...inv.timeouts, drainSeconds: 7 }))), (e: Error) => {
        assert.match(e.message, /^srv3: drain failed: gave up after 7s waiting for pods on srv3 to be evicted/);
        assert.match(e.message, /default\/pinned-srv3-\S+ blocked by PodDisruptionBudget default\/pinned-srv3: Cannot evict pod/);
        assert.match(e.message, /what to do: the PodDisruptionBudget default\/pinned-srv3 forbids evicting default\/pinned-srv3-/);
        assert.match(e.message, /then run the rollout again\. srv3 was uncordoned and the host was not rebooted\.\n/);
        return true;
      });
    } finally {
      await fleet.setFault("srv3", "pdb-blocks", false);
    }
    // Other pods on srv3 may meet their own budgets while earlier tests' replicas come back; the cadence is per pod.
    const blocked = fleet
      .timeline()
      .filter((e) => e.t >= since && e.kind === "eviction" && e.detail?.result === "blocked" && String(e.detail?.pod).startsWith("pinned-srv3"));
    // Asked at 0 s and 5 s; the 7 s deadline comes before a third time.
    assert.equal(blocked.length, 2, blocked.map((e) => `${e.detail?.pod}@${e.t - since}`).join(","));
    const gap = blocked[1].t - blocked[0].t;
    assert.ok(gap >= 4900 && gap < 6000, `asked again after ${gap} ms`);
    const d = disruptions(since, "srv3");
    assert.ok(d.includes("cordon") && d.includes("uncordon") && !d.includes("reboot-started"), d.join(","));
    const n = await node("srv3");
    assert.notEqual(n.spec?.unschedulable, true);
    assert.deepEqual(cordonRecord(n), {});
  });

  it("asks again as soon as the refusing budget allows a disruption, not 5 seconds later", async () => {
    const since = Date.now();
    await fleet.setFault("srv3", "pdb-blocks", true);
    const kc = new KubeConfig();
    kc.loadFromString(fs.readFileSync(fj.kubeconfig, "utf8"));
    const policy = kc.makeApiClient(PolicyV1Api);
    let relaxedAt: number | undefined;
    let relaxing: Promise<unknown> | undefined;
    // An operator relaxes the budget half a second after it refused the pinned pod's eviction.
    const stop = fleet.onEvent((e) => {
      if (relaxing || e.kind !== "eviction" || e.detail?.result !== "blocked" || !String(e.detail?.pod).startsWith("pinned-srv3")) return;
      relaxing = new Promise((r) => setTimeout(r, 500)).then(() => {
        relaxedAt = Date.now();
        return policy.patchNamespacedPodDisruptionBudget(
          { name: "pinned-srv3", namespace: "default", body: { spec: { minAvailable: 0 } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
      });
    });
    try {
      await rollOut(rebootingSpec(2, (inv) => (inv.timeouts = { ...inv.timeouts, drainSeconds: 30 })));
      await relaxing;
    } finally {
      stop();
      await fleet.setFault("srv3", "pdb-blocks", false);
    }
    const asks = fleet
      .timeline()
      .filter((e) => e.t >= since && e.kind === "eviction" && String(e.detail?.pod).startsWith("pinned-srv3"))
      .map((e) => ({ t: e.t, result: String(e.detail?.result) }));
    assert.deepEqual(asks.map((a) => a.result), ["blocked", "evicted"], JSON.stringify(asks));
    assert.ok(relaxedAt !== undefined && asks[1].t >= relaxedAt, "evicted only once the budget was relaxed");
    // At kubectl's fixed pacing the second ask would come 5 s after the first.
    const gap = asks[1].t - asks[0].t;
    assert.ok(gap < 4800, `asked again after ${gap} ms`);
  });

  it("leaves a node an operator cordoned before a reboot rollout cordoned afterwards", async () => {
    await setCordon("srv3", true);
    try {
      // The operator's cordon reaches the timeline from the audit log, stamped with the API server's
      // time, which can fall in the very millisecond the patch returned: count only what came after it.
      const since = (await cordonSeen("srv3")) + 1;
      const { props, lines } = await rollOut(rebootingSpec(2));
      assert.equal(props.rebooted, true);
      const n = await node("srv3");
      assert.equal(n.spec?.unschedulable, true, "still cordoned");
      assert.deepEqual(cordonRecord(n), {}, "the rollout did not claim the operator's cordon");
      const d = disruptions(since, "srv3");
      assert.ok(d.includes("reboot-started") && !d.includes("cordon") && !d.includes("uncordon"), d.join(","));
      assert.ok(lines.includes("srv3: left Node srv3 cordoned, as it was before the rollout"), lines.join("\n"));
      assert.ok(!lines.includes("uncordoned srv3"), lines.join("\n"));
    } finally {
      await setCordon("srv3", false);
    }
  });

  it("lifts a cordon a failed rollout left on the Node with its record, on the next successful rollout without a reboot", async () => {
    // What a rollout that stopped between its drain and its uncordon leaves behind.
    const cluster = kubeCluster(fs.readFileSync(fj.kubeconfig, "utf8"));
    const owner = `nixos-fleet rollout by pid 4194303 on ${os.hostname()} since 2026-01-01T00:00:00.000Z`;
    await cordonForRollout(cluster, { host: "srv2", node: "srv2", owner, now: new Date(), progress: () => undefined });
    const left = await node("srv2");
    assert.equal(left.spec?.unschedulable, true);
    assert.equal(left.metadata?.annotations?.[CORDONED_BY_ANNOTATION], owner);

    const since = Date.now();
    const { props, lines } = await rollOut(liveSpec(1, { AFTER_FAILED_RUN: "1" }));
    assert.equal(props.rebooted, false, props.rebootReason);
    const n = await node("srv2");
    assert.notEqual(n.spec?.unschedulable, true, "uncordoned");
    assert.deepEqual(cordonRecord(n), {}, "the record is gone with the cordon");
    assert.deepEqual(disruptions(since, "srv2"), ["uncordon"]);
    assert.ok(lines.includes("uncordoned srv2"), lines.join("\n"));
  });
});
