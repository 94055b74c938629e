import * as assert from "node:assert/strict";
import { cordonAndDrain } from "../../lib/rollout/drain";
import { RolloutError } from "../../lib/rollout/errors";
import { FakeCluster, fastClock } from "../fakes/cluster";

function cluster() {
  const c = new FakeCluster().addNode("srv2").addNode("srv3");
  c.pods.push(
    { namespace: "kube-system", name: "kube-proxy-x", uid: "u1", owner: "daemonset", node: "srv2" },
    { namespace: "kube-system", name: "kube-apiserver-srv2", uid: "u2", owner: "mirror", node: "srv2" },
    { namespace: "default", name: "web-1", uid: "u3", owner: "other", node: "srv2" },
    { namespace: "default", name: "web-2", uid: "u4", owner: "other", node: "srv3" },
  );
  return c;
}

describe("cordonAndDrain", () => {
  it("cordons, evicts only pods that are not DaemonSet or mirror pods, and waits for them to go", async () => {
    const c = cluster();
    const lines: string[] = [];
    await cordonAndDrain(c, { host: "srv2", node: "srv2", timeoutSeconds: 30, clock: fastClock(), progress: (l) => lines.push(l) });
    assert.deepEqual(c.calls, ["cordon srv2", "evict web-1"]);
    assert.equal(c.nodes.get("srv2")?.unschedulable, true);
    assert.ok(c.pods.find((p) => p.name === "kube-proxy-x" && !p.gone));
    assert.ok(c.pods.find((p) => p.name === "web-2" && !p.gone), "pods on other nodes stay");
    assert.deepEqual(lines, ["draining srv2", "srv2 drained (1 pods evicted)"]);
  });

  it("retries evictions a PodDisruptionBudget refuses until they go through", async () => {
    const c = cluster();
    c.pods[2].blockedTimes = 3;
    await cordonAndDrain(c, { host: "srv2", node: "srv2", timeoutSeconds: 30, clock: fastClock(), progress: () => undefined });
    assert.deepEqual(c.calls, ["cordon srv2", "blocked web-1", "blocked web-1", "blocked web-1", "evict web-1"]);
  });

  it("gives up at its deadline naming the pod and the budget", async () => {
    const c = cluster();
    c.pods[2].blockedTimes = Number.POSITIVE_INFINITY;
    await assert.rejects(
      cordonAndDrain(c, { host: "srv2", node: "srv2", timeoutSeconds: 5, clock: fastClock(), progress: () => undefined }),
      (e: unknown) => {
        assert.ok(e instanceof RolloutError);
        assert.equal(e.step, "drain");
        assert.match(e.message, /srv2: drain failed: gave up after 5s waiting for pods on srv2 to be evicted/);
        assert.match(e.message, /default\/web-1/);
        assert.match(e.message, /disruption budget/);
        return true;
      },
    );
  });
});
