import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { findingOf, type AuditEvent } from "../../sim/kubelet/audit";
import { k3sSettings, k3sState, pathFromOutside } from "../../sim/kubelet/host-system";
import { readinessEvent } from "../../sim/kubelet/kubelet";
import { podAction } from "../../sim/kubelet/pods";
import { readTimelineFile, Timeline } from "../../sim/timeline";

const settings = (k3s: Record<string, unknown>) => k3sSettings({ services: { k3s } as never });

describe("simulated kubelets: whether k3s runs (sim/kubelet/host-system.ts)", function () {
  const exists = (f: string) => f === "/var/lib/nixos-fleet/secrets/k3s-token";

  it("runs a server with its role and --node-label flags", function () {
    assert.deepEqual(k3sState(settings({ enable: true, role: "server", extraFlags: "--node-name=srv1 --node-label=zone=a  --node-label=gpu=true" }), exists), {
      runs: true, role: "server", labels: { zone: "a", gpu: "true" }, nodeName: "srv1",
    });
  });

  it("names the Node after --node-name, else networking.hostName, and reads flags given as separate words", function () {
    const withHostName = (k3s: Record<string, unknown>, hostName: string) => k3sSettings({ services: { k3s }, networking: { hostName } } as never);
    const named = k3sState(withHostName({ enable: true, extraFlags: ["--node-name", "node-a", "--node-label", "zone=b"] }, "wk1"), exists);
    assert.deepEqual(named, { runs: true, role: "server", labels: { zone: "b" }, nodeName: "node-a" });
    assert.deepEqual(k3sState(withHostName({ enable: true }, "wk1"), exists), { runs: true, role: "server", labels: {}, nodeName: "wk1" });
    assert.deepEqual(k3sState(settings({ enable: true }), exists), { runs: true, role: "server", labels: {}, nodeName: undefined });
  });

  it("does not run with a flag k3s does not define for its role, in k3s's words", function () {
    assert.deepEqual(k3sState(settings({ enable: true, extraFlags: "--node-name=a --no-such-flag=1" }), exists), {
      runs: false, why: "k3s server stops at once: flag provided but not defined: -no-such-flag",
    });
    const agent = { enable: true, role: "agent", serverAddr: "https://a:6443", tokenFile: "/var/lib/nixos-fleet/secrets/k3s-token" };
    assert.deepEqual(k3sState(settings({ ...agent, extraFlags: "--cluster-init" }), exists), {
      runs: false, why: "k3s agent stops at once: flag provided but not defined: -cluster-init",
    });
    assert.equal(k3sState(settings({ ...agent, extraFlags: "--node-ip 10.0.0.2 --kubelet-arg=max-pods=200" }), exists).runs, true);
    assert.equal(k3sState(settings({ enable: true, extraFlags: "--cluster-init --disable traefik --tls-san=k8s.example" }), exists).runs, true);
  });

  it("does not run when disabled, when its token file is missing, or as an agent without server or token", function () {
    assert.deepEqual(k3sState(settings({ enable: false, role: "server" }), exists), { runs: false, why: "services.k3s.enable is false" });
    assert.deepEqual(k3sState(settings({}), exists), { runs: false, why: "services.k3s.enable is false" });
    assert.deepEqual(k3sState(settings({ enable: true, tokenFile: "/var/lib/missing" }), exists), { runs: false, why: "the k3s token file /var/lib/missing does not exist" });
    assert.match((k3sState(settings({ enable: true, role: "agent", tokenFile: "/var/lib/nixos-fleet/secrets/k3s-token" }), exists) as { why: string }).why, /no services\.k3s\.serverAddr/);
    assert.match((k3sState(settings({ enable: true, role: "agent", serverAddr: "https://a:6443" }), exists) as { why: string }).why, /no token/);
    assert.equal(k3sState(settings({ enable: true, role: "agent", serverAddr: "https://a:6443", tokenFile: "/var/lib/nixos-fleet/secrets/k3s-token" }), exists).runs, true);
  });

  it("finds a host's file under its own mounts, else where the machine has it", function () {
    assert.equal(pathFromOutside("/s/hosts/a", "/var/lib/x/token"), "/s/hosts/a/fs/var-lib/x/token");
    assert.equal(pathFromOutside("/s/hosts/a", "/etc/k3s-token"), "/etc/k3s-token");
  });
});

describe("simulated kubelets: timeline events from the audit log (sim/kubelet/audit.ts)", function () {
  const ev = (e: Partial<AuditEvent> & Pick<AuditEvent, "verb" | "objectRef">): AuditEvent => ({ stage: "ResponseComplete", responseStatus: { code: 200 }, ...e });
  const nodePatch = (name: string, unschedulable: boolean | undefined, code = 200) =>
    ev({ verb: "patch", objectRef: { resource: "nodes", name }, responseStatus: { code }, responseObject: { kind: "Node", spec: unschedulable === undefined ? {} : { unschedulable } } });

  it("an eviction is evicted on 201, blocked on 429, and nothing on other answers", function () {
    const m = new Map<string, boolean>();
    const evict = (code: number) => findingOf(ev({ verb: "create", objectRef: { resource: "pods", subresource: "eviction", namespace: "default", name: "web-1" }, responseStatus: { code } }), m);
    assert.deepEqual(evict(201), { pod: { namespace: "default", name: "web-1" }, kind: "eviction", detail: { namespace: "default", pod: "web-1", result: "evicted" } });
    assert.equal(evict(429)?.detail?.result, "blocked");
    assert.equal(evict(404), undefined);
  });

  it("a cordon or uncordon is a change of spec.unschedulable, however it was written; other Node changes and failed requests are not", function () {
    const m = new Map<string, boolean>();
    assert.equal(findingOf(nodePatch("w1", undefined), m), undefined, "a label patch");
    assert.deepEqual(findingOf(nodePatch("w1", true), m), { host: "w1", kind: "cordon" });
    assert.equal(findingOf(nodePatch("w1", true), m), undefined, "cordoned again: no change");
    assert.equal(findingOf(nodePatch("w1", false, 409), m), undefined, "a refused update changed nothing");
    assert.deepEqual(findingOf({ ...nodePatch("w1", undefined), verb: "update" }, m), { host: "w1", kind: "uncordon" });
    assert.equal(findingOf({ ...nodePatch("w1", true), stage: "RequestReceived" }, m), undefined);
  });

  it("a Node deletion is node-deleted", function () {
    assert.deepEqual(findingOf(ev({ verb: "delete", objectRef: { resource: "nodes", name: "w2" } }), new Map()), { host: "w2", kind: "node-deleted" });
  });
});

describe("simulated kubelets: what a kubelet does with a pod (sim/kubelet/pods.ts)", function () {
  const delays = { startMs: 300, terminationMs: 400 };
  const ready = { ready: true, address: "10.0.0.1" };
  const pod = (p: Partial<V1Pod> = {}): V1Pod => ({ metadata: { name: "p", uid: "u" }, spec: { containers: [{ name: "c" }], nodeName: "w1" }, status: { phase: "Pending" }, ...p });

  it("starts a bound pod startMs after it saw it, only on a Ready node, and leaves a running one alone", function () {
    assert.equal(podAction(pod(), ready, 1000, 1299, delays).kind, "wait");
    assert.equal(podAction(pod(), ready, 1000, 1300, delays).kind, "start");
    assert.equal(podAction(pod(), { ...ready, ready: false }, 1000, 9000, delays).kind, "wait");
    const running = pod({ status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } });
    assert.equal(podAction(running, ready, 1000, 9000, delays).kind, "wait");
  });

  it("removes a pod being deleted after its grace period capped at terminationMs, also on a node that is not Ready", function () {
    const deleting = (grace: number) => pod({ metadata: { name: "p", uid: "u", deletionTimestamp: new Date(), deletionGracePeriodSeconds: grace } });
    assert.equal(podAction(deleting(30), ready, 1000, 1399, delays).kind, "wait");
    assert.equal(podAction(deleting(30), { ...ready, ready: false }, 1000, 1400, delays).kind, "remove");
    assert.equal(podAction(deleting(0), ready, 1000, 1000, delays).kind, "remove", "grace 0 is at once");
  });
});

describe("the fleet's timeline with events read after the fact (sim/timeline.ts)", function () {
  it("puts an event at the time it happened among those recorded meanwhile, in memory and in timeline.jsonl", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "timeline-"));
    try {
      const file = path.join(dir, "timeline.jsonl");
      const tl = new Timeline(file);
      tl.record("a", "up", undefined, 1000);
      tl.record("a", "reboot-started", undefined, 3000);
      tl.record("a", "cordon", undefined, 2000);
      tl.record("a", "uncordon", undefined, 3000);
      assert.deepEqual(tl.all().map((e) => [e.t, e.kind]), [[1000, "up"], [2000, "cordon"], [3000, "reboot-started"], [3000, "uncordon"]]);
      assert.deepEqual(readTimelineFile(file), tl.all());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an audit event carries the time kube-apiserver completed it", function () {
    const f = findingOf({ verb: "delete", stage: "ResponseComplete", stageTimestamp: "2026-12-01T19:01:04.123456Z", objectRef: { resource: "nodes", name: "w2" }, responseStatus: { code: 200 } }, new Map());
    assert.equal(f?.at, Date.parse("2026-12-01T19:01:04.123Z"));
  });
});

describe("simulated kubelets: ready and not-ready on the timeline (sim/kubelet/kubelet.ts)", function () {
  it("ready when a Node turns Ready, and when it is Ready for a new boot whose NotReady moment was not seen; not-ready when it stops being Ready", function () {
    assert.equal(readinessEvent(undefined, { ready: false, bootId: "a" }), undefined, "registered NotReady");
    assert.equal(readinessEvent({ ready: false, bootId: "a" }, { ready: true, bootId: "a" }), "ready");
    assert.equal(readinessEvent({ ready: true, bootId: "a" }, { ready: true, bootId: "a" }), undefined);
    assert.equal(readinessEvent({ ready: true, bootId: "a" }, { ready: true, bootId: "b" }), "ready");
    assert.equal(readinessEvent({ ready: true, bootId: "b" }, { ready: false, bootId: "b" }), "not-ready");
    assert.equal(readinessEvent({ ready: false, bootId: "b" }, { ready: false, bootId: "c" }), undefined);
  });
});
