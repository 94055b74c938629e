/** Stopping a rollout whose CLI is gone: detecting it, stopping waits, and finishing the work on the next run. */
import * as assert from "node:assert/strict";
import { RolloutError } from "../../lib/rollout/errors";
import { INTERRUPTED_ANNOTATION, isInterrupted, parseMark, resumeInterrupted, RolloutInterrupted, stopMidReboot, stoppableClock } from "../../lib/rollout/interrupt";
import { CORDONED_AT_ANNOTATION, CORDONED_BY_ANNOTATION } from "../../lib/rollout/cordon";
import { FakeNixos, fakeSystem } from "../fakes/nixos";
import { waitUntil, notYet } from "../../lib/rollout/wait";
import { engineGone, isPluginWrapper, parentOf } from "../../providers/engineWatch";
import { FakeCluster, fastClock } from "../fakes/cluster";
import type { Host, HostConnector } from "../../lib/host/host";

/** A host whose commands answer from a table. */
function fakeConnector(answers: Record<string, string>): HostConnector {
  const host: Host = {
    name: "srv2",
    exec: async (command: string) => ({ code: 0, stdout: answers[command] ?? "", stderr: "" }),
    close: async () => undefined,
  } as Host;
  return { name: "srv2", connect: async () => host, probe: async () => true } as HostConnector;
}

describe("engine watch", () => {
  it("sees the CLI gone when the provider or its wrapper shell is re-parented", () => {
    const wrapped = { parent: 500, grandparent: 400, parentIsWrapper: true };
    assert.equal(engineGone(wrapped, { ...wrapped }), false);
    assert.equal(engineGone(wrapped, { ...wrapped, grandparent: 1 }), true, "the wrapper shell was re-parented: the CLI died");
    const direct = { parent: 400, grandparent: 300, parentIsWrapper: false };
    assert.equal(engineGone(direct, { ...direct, parent: 1, grandparent: 0 }), true, "the provider itself was re-parented: the CLI died");
    assert.equal(engineGone(direct, { ...direct, grandparent: 1 }), false, "the CLI's own parent going away (a closed terminal) stops nothing");
  });

  it("reads a parent pid from /proc", () => {
    assert.equal(parentOf(process.pid), process.ppid);
    assert.equal(parentOf(2 ** 22 + 1), undefined);
    assert.equal(isPluginWrapper(process.pid), false);
  });
});

describe("stopping a rollout", () => {
  it("ends a running wait at its next poll once the signal aborts, and not before", async () => {
    const controller = new AbortController();
    const clock = stoppableClock(controller.signal, fastClock());
    let polls = 0;
    const wait = waitUntil({ what: "a host that never comes back", timeoutSeconds: 600, intervalMs: 250, clock }, async () => {
      if (++polls === 3) controller.abort("the Pulumi CLI is gone");
      return notYet("down");
    });
    await assert.rejects(wait, (e: Error) => e instanceof RolloutInterrupted && /the Pulumi CLI is gone/.test(e.message));
    assert.equal(polls, 3);
    assert.equal(isInterrupted(new RolloutError("srv2", "boot", "x", undefined, undefined, new RolloutInterrupted("gone"))), true);
    assert.equal(isInterrupted(new RolloutError("srv2", "boot", "x")), false);
  });

  it("leaves a node it stopped mid-reboot cordoned and marked", async () => {
    const c = new FakeCluster().addNode("srv2");
    await c.setUnschedulable("srv2", true);
    const e = await stopMidReboot(c, "srv2", "srv2", "boot", new RolloutInterrupted("gone"), () => undefined);
    assert.equal(c.nodes.get("srv2")?.unschedulable, true);
    const mark = parseMark(c.nodes.get("srv2")?.annotations[INTERRUPTED_ANNOTATION]);
    assert.equal(mark?.step, "boot");
    assert.equal(mark?.cordonedByRollout, true);
    assert.match(e.message, /srv2 stays cordoned, marked nixos-fleet.dev\/interrupted-rollout/);
    assert.match(e.hint ?? "", /pulumi up/);
  });

  it("uncordons a marked node on the next run only once the host is healthy on its current boot", async () => {
    const timeouts = { connectSeconds: 1, lockSeconds: 1, rebuildSeconds: 1, drainSeconds: 1, shutdownSeconds: 1, bootSeconds: 1, settleSeconds: 2, readySeconds: 2, healthSeconds: 1, confirmSeconds: 1 };
    const mark = JSON.stringify({ host: "srv2", step: "boot", at: "2026-01-01T00:00:00Z", cordonedByRollout: true });
    const host = new FakeNixos("srv2", fakeSystem("good"));
    host.bootId = "newboot";
    const cordonedByUs = { [CORDONED_BY_ANNOTATION]: "an earlier rollout", [CORDONED_AT_ANNOTATION]: "2026-01-01T00:00:00Z" };

    const stale = new FakeCluster().addNode("srv2", true, "oldboot");
    await stale.setUnschedulable("srv2", true, cordonedByUs);
    await stale.setNodeAnnotation("srv2", INTERRUPTED_ANNOTATION, mark);
    await assert.rejects(resumeInterrupted(stale, host, { host: "srv2", node: "srv2", timeouts, progress: () => undefined, clock: fastClock() }), /ready failed: .*Node srv2 to be Ready on boot newboot.*stays cordoned/s);
    assert.equal(stale.nodes.get("srv2")?.unschedulable, true);

    const healthy = new FakeCluster().addNode("srv2", true, "newboot");
    await healthy.setUnschedulable("srv2", true, cordonedByUs);
    await healthy.setNodeAnnotation("srv2", INTERRUPTED_ANNOTATION, mark);
    const lines: string[] = [];
    await resumeInterrupted(healthy, host, { host: "srv2", node: "srv2", timeouts, progress: (l) => lines.push(l), clock: fastClock() });
    assert.equal(healthy.nodes.get("srv2")?.unschedulable, false);
    assert.equal(healthy.nodes.get("srv2")?.annotations[INTERRUPTED_ANNOTATION], undefined);
    assert.match(lines.join("\n"), /an earlier rollout stopped at boot .* left srv2 cordoned/);

    const unmarked = new FakeCluster().addNode("srv2");
    await unmarked.setUnschedulable("srv2", true);
    await resumeInterrupted(unmarked, host, { host: "srv2", node: "srv2", timeouts, progress: () => undefined, clock: fastClock() });
    assert.equal(unmarked.nodes.get("srv2")?.unschedulable, true, "a cordon without our mark is someone else's");
  });
});
