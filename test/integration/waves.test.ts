/**
 * Disruption budgets against the simulated fleet: rollouts started close together through the
 * provider (as two or three stacks would), each with rollout.maxUnavailable 2, kept apart by
 * the fleet lease's slots and failure domains. The timeline proves what was disrupted when.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { HostSpec } from "../../lib/rollout/spec";
import type { HostProps } from "../../providers/props";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { apiOf } from "../../sim/kubelet/api";
import { eventually } from "./helpers/controlplane-harness";
import { sshCli } from "./helpers/fleet-client";
import { assertNeverTwoDisrupted, inventoryFor, planForFleet, rollOutThrough } from "./helpers/provider-harness";

// A Node whose kubelet stopped goes Unknown after 6 s (the control plane's own grace period, shortened for the test).
const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300, nodeMonitorGracePeriodSeconds: 6 };
const ZONE = "topology.kubernetes.io/zone";

/** Every moment's set of disrupted hosts (cordoned, rebooting or down, until uncordoned), in time order. */
function disruptedOverTime(events: readonly TimelineEvent[]): { t: number; hosts: string[] }[] {
  const now = new Set<string>();
  const out: { t: number; hosts: string[] }[] = [];
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    if (e.kind === "cordon" || e.kind === "reboot-started" || e.kind === "down") now.add(e.host);
    if (e.kind === "uncordon") now.delete(e.host);
    out.push({ t: e.t, hosts: [...now].sort() });
  }
  return out;
}

describe("disruption budgets (rollout.maxUnavailable, failure domains) against the simulated fleet", function () {
  this.timeout(300_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  const state = new Map<string, HostProps>();

  /** The fleet's inventory with a budget of two, srv1..srv3 in the zones given, and a kernel parameter per host that needs a reboot. */
  function plan(zones: readonly string[], mark: string): Map<string, HostSpec> {
    const inv = inventoryFor();
    inv.timeouts = { ...inv.timeouts, lockSeconds: 120, healthSeconds: 60 };
    inv.rollout = { maxUnavailable: 2, failureDomainLabel: ZONE };
    inv.hosts.forEach((h, i) => {
      h.labels = { [ZONE]: zones[i] };
      h.nix = { settings: { boot: { kernelParams: [`waves=${mark}-${h.name as string}`] } } };
    });
    return new Map(planForFleet(inv, fj, { k3sToken: "waves-test-token" }).map((s) => [s.name, s]));
  }
  const events = (since: number): TimelineEvent[] => fleet.timeline().filter((e) => e.t >= since);

  /** Rolls the hosts out through the provider, each as its own stack would, started 300 ms apart. */
  async function concurrently(specs: readonly HostSpec[]): Promise<{ props: HostProps; lines: string[] }[]> {
    const log = console.log;
    const runs: Promise<{ props: HostProps; lines: string[] }>[] = [];
    for (const spec of specs) {
      if (runs.length > 0) await new Promise((r) => setTimeout(r, 300));
      runs.push(rollOutThrough(state, spec));
    }
    // Overlapping console captures restore each other's stand-in: put the real one back.
    return Promise.all(runs).finally(() => (console.log = log));
  }

  /** Clients of the fleet's control plane, as the admin. */
  const api = () => apiOf(fs.readFileSync(fj.kubeconfig, "utf8"));
  /** The Ready condition of a Node ("True", "False", "Unknown"). */
  const readyOf = async (node: string) => (await api().core.readNode({ name: node })).status?.conditions?.find((c) => c.type === "Ready")?.status;
  /** Waits until a Node is no longer Ready (its kubelet stopped and the grace period passed). */
  const notReady = (node: string, why: string) => eventually(`${node}'s Node to leave Ready after ${why}`, async () => ((await readyOf(node)) === "True" ? undefined : true), 60_000);

  async function slotsHeld(): Promise<string[]> {
    const list = await api().coordination.listNamespacedLease({ namespace: "kube-system" });
    return list.items.filter((l) => l.metadata?.name?.startsWith("nixos-fleet-rollout") && l.spec?.holderIdentity).map((l) => `${l.metadata?.name}: ${l.spec?.holderIdentity}`);
  }

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-waves-"));
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
    for (const spec of plan(["zone-a", "zone-a", "zone-b"], "0").values()) await rollOutThrough(state, spec);
  });

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("never disrupts two failure domains at once: srv2 (zone-a) and srv3 (zone-b) go one after the other", async () => {
    const since = Date.now();
    const specs = plan(["zone-a", "zone-a", "zone-b"], "1");
    assert.deepEqual([specs.get("srv2")!.disruption, specs.get("srv3")!.disruption], [
      { maxUnavailable: 2, group: `${ZONE}=zone-a` },
      { maxUnavailable: 2, group: `${ZONE}=zone-b` },
    ]);
    const [a, b] = await concurrently([specs.get("srv2")!, specs.get("srv3")!]);
    assert.equal(a.props.rebooted, true);
    assert.equal(b.props.rebooted, true);
    assertNeverTwoDisrupted(events(since));
    const lines = [...a.lines, ...b.lines].join("\n");
    assert.match(lines, /srv3: waiting for the fleet lease kube-system\/nixos-fleet-rollout, held by nixos-fleet rollout of srv2 .*\[group topology\.kubernetes\.io\/zone=zone-a\] \(its holder is in the failure domain topology\.kubernetes\.io\/zone=zone-a; srv3 is in the failure domain topology\.kubernetes\.io\/zone=zone-b\)/);
    assert.deepEqual(await slotsHeld(), [], "every slot is released at the end");
  });

  it("lets two hosts of one domain be disrupted together, never three, and never the control plane with another", async () => {
    const since = Date.now();
    const specs = plan(["zone-a", "zone-a", "zone-a"], "2");
    const runs = await concurrently([specs.get("srv2")!, specs.get("srv3")!, specs.get("srv1")!]);
    for (const r of runs) assert.equal(r.props.rebooted, true);
    const moments = disruptedOverTime(events(since));
    let most = 0;
    for (const m of moments) {
      const at = new Date(m.t).toISOString();
      assert.ok(m.hosts.length <= 2, `three hosts disrupted at ${at}: ${m.hosts.join(", ")}`);
      assert.ok(!(m.hosts.includes("srv1") && m.hosts.length > 1), `the control-plane host srv1 disrupted with another at ${at}: ${m.hosts.join(", ")}`);
      most = Math.max(most, m.hosts.length);
    }
    // The budget is used: srv2 and srv3, started 300 ms apart, were disrupted at the same time.
    assert.equal(most, 2, `srv2 and srv3 never overlapped:\n${moments.map((m) => `${new Date(m.t).toISOString()} ${m.hosts.join(",")}`).join("\n")}`);
    assert.ok(
      moments.some((m) => m.hosts.join() === "srv2,srv3"),
      "srv2 and srv3 were the two disrupted together",
    );
    assert.match(runs[2].lines.join("\n"), /srv1: waiting for the fleet lease .*\(its holder is in the failure domain topology\.kubernetes\.io\/zone=zone-a; srv1 is in a group of its own, as a control-plane host\)/);
    assert.deepEqual(await slotsHeld(), [], "every slot is released at the end");
  });

  it("a wave partner that never comes back is its own rollout's failure: srv2, rolled out while srv3 is down under its slot, passes its gates and finishes", async () => {
    const since = Date.now();
    const specs = plan(["zone-a", "zone-a", "zone-a"], "3");
    const srv3 = specs.get("srv3")!;
    const stuck = { ...srv3, timeouts: { ...srv3.timeouts, shutdownSeconds: 5, bootSeconds: 20, confirmSeconds: 5 } };
    await fleet.setFault("srv3", "never-returns", true);
    try {
      const failed = rollOutThrough(state, stuck).then(
        () => assert.fail("srv3 never comes back, so its rollout must fail"),
        (e: Error) => e,
      );
      // srv3 is down and its Node NotReady before srv2 starts: srv2's preflight and gates see it.
      await notReady("srv3", "going down");
      const srv2 = await rollOutThrough(state, specs.get("srv2")!);
      assert.equal(srv2.props.rebooted, true);
      assert.match(srv2.lines.join("\n"), /srv3 disrupted by another rollout of the fleet/);
      const error = await failed;
      assert.match(error.message, /^srv3: boot failed: gave up after \d+s waiting for srv3 to come back on a new boot/);
      // srv2's rollout resolved (a gate failure would have rolled it back and rejected), and its Node is back in service.
      assert.ok(events(since).some((e) => e.host === "srv2" && e.kind === "uncordon"), "srv2 was uncordoned");
    } finally {
      await fleet.setFault("srv3", "never-returns", false);
    }
  });

  it("a host whose own Node is NotReady (k3s stopped by hand) is repaired by its rollout: the preflight excuses its Node, the drain does not wait on a Node without kubelet", async () => {
    const since = Date.now();
    const { core, apps, policy } = api();
    // A pod of its own on srv2 (in a namespace no gate watches), for the drain to evict.
    const labels = { app: "on-srv2" };
    await apps.createNamespacedDeployment({
      namespace: "kube-public",
      body: {
        metadata: { name: "on-srv2" },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { nodeSelector: { "kubernetes.io/hostname": "srv2" }, containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
        },
      },
    });
    await eventually("the pod on srv2 to run", async () => {
      const pods = (await core.listNamespacedPod({ namespace: "kube-public", labelSelector: "app=on-srv2" })).items;
      return pods.some((p) => p.status?.phase === "Running") ? true : undefined;
    }, 60_000);
    // The web pods on srv2 turn unready with it; under the default IfHealthyBudget policy their
    // budget would refuse to evict them (kube-apiserver's 429) whenever two of the three sit on
    // srv2. Operators who drain broken nodes set AlwaysAllow; so does this test, for its duration.
    const setPolicy = (p: string | null) =>
      policy.patchNamespacedPodDisruptionBudget({ name: "web", namespace: "default", body: { spec: { unhealthyPodEvictionPolicy: p } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    await setPolicy("AlwaysAllow");
    try {
      const stop = await sshCli(fj, "srv2", "systemctl stop k3s");
      assert.equal(stop.code, 0, stop.stderr);
      await notReady("srv2", "systemctl stop k3s");
      const { props, lines } = await rollOutThrough(state, plan(["zone-a", "zone-a", "zone-a"], "4").get("srv2")!);
      assert.equal(props.rebooted, true);
      const text = lines.join("\n");
      assert.match(text, /srv2 not Ready, on the host about to be rolled out/);
      assert.match(text, /srv2: srv2 is not Ready, so no kubelet finishes its evicted pods \([^)]*kube-public\/on-srv2-[a-z0-9-]+[^)]*\); not waiting for them to terminate/);
      assert.equal(await readyOf("srv2"), "True", "the reboot started k3s again and the gates saw the Node Ready");
      assert.ok(events(since).some((e) => e.host === "srv2" && e.kind === "uncordon"));
    } finally {
      await setPolicy(null);
    }
  });
});
