/**
 * The host-side lock, the fleet-wide lease and a rollout stopped from outside, against the
 * simulated fleet: real sshd, real host tools, the real Kubernetes control plane serving Leases.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { kubeCluster } from "../../lib/cluster/kube";
import type { Host, HostConnector } from "../../lib/host/host";
import { sshConnector } from "../../lib/host/ssh";
import { applyHost, type RolloutDeps } from "../../lib/rollout/apply";
import { INTERRUPTED_ANNOTATION, stoppableClock } from "../../lib/rollout/interrupt";
import type { HostSpec } from "../../lib/rollout/spec";
import type { HostProps } from "../../providers/props";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings, TimelineEvent } from "../../sim/types";
import { exec1, hostInfo } from "./helpers/fleet-client";
import { assertNeverTwoDisrupted, inventoryFor, planForFleet, rollOutThrough } from "./helpers/provider-harness";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
/** A pid no process of this machine has (above the kernel's pid_max limit). */
const GONE_PID = 4194303;

describe("locks, the fleet lease and stopped rollouts against the simulated fleet", function () {
  this.timeout(300_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  const state = new Map<string, HostProps>();

  function plan(edit: (inv: ReturnType<typeof inventoryFor>) => void = () => undefined): Map<string, HostSpec> {
    const inv = inventoryFor();
    edit(inv);
    return new Map(planForFleet(inv, fj, { k3sToken: "lock-test-token" }).map((s) => [s.name, s]));
  }
  const events = (since: number, host?: string): TimelineEvent[] => fleet.timeline().filter((e) => e.t >= since && (!host || e.host === host));
  const run = (name: string, command: string) => exec1(fj, name, command);
  const hostNow = async (name: string) => Number((await run(name, "date +%s")).stdout.trim());
  /** Writes a lock record as another rollout would have left it. */
  const plantLock = (name: string, machine: string, pid: number, expires: number) =>
    run(name, `mkdir -p /var/lib/nixos-fleet/lock && printf 'nixos-fleet-lock 2\\ntoken=planted\\npid=${pid}\\nmachine=${machine}\\nsince=${expires - 90}\\nexpires=${expires}\\n' > /var/lib/nixos-fleet/lock/owner`);

  const rollOut = (spec: HostSpec) => rollOutThrough(state, spec);

  function connectorOf(spec: HostSpec, wrap: (h: Host) => Host = (h) => h): HostConnector {
    const info = hostInfo(fj, spec.name);
    const inner = sshConnector({ name: spec.name, address: info.address, port: info.port, user: "root", privateKey: spec.sshPrivateKey, hostKey: spec.hostKey, trustOnFirstUse: false });
    return { name: spec.name, connect: async (ms: number) => wrap(await inner.connect(ms)), probe: (ms: number) => inner.probe(ms) } as HostConnector;
  }

  function depsFor(spec: HostSpec, o: Partial<RolloutDeps> & { lines: string[] }): RolloutDeps {
    return {
      connector: connectorOf(spec),
      cluster: kubeCluster(fs.readFileSync(fj.kubeconfig, "utf8")),
      progress: (l) => o.lines.push(l),
      owner: { pid: process.pid, machine: os.hostname(), token: `t${Math.random().toString(16).slice(2)}` },
      isAlive: (pid) => pid === process.pid,
      ...o,
    };
  }

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-locks-"));
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
    for (const spec of plan().values()) await rollOut(spec);
  });

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("takes over an expired lock left by a rollout on another machine (a CI runner that changed its name)", async () => {
    await plantLock("srv1", "ci-runner-that-is-gone", 12345, (await hostNow("srv1")) - 5);
    const spec = plan((inv) => (inv.hosts[0].nix = { settings: { environment: { variables: { LOCK_TAKEOVER: "1" } } } })).get("srv1")!;
    const { lines } = await rollOut(spec);
    assert.ok(lines.some((l) => /^srv1: taking over the lock of the rollout by pid 12345 on ci-runner-that-is-gone .*: it expired \d+s ago/.test(l)), lines.join("\n"));
    assert.equal((await run("srv1", "test -e /var/lib/nixos-fleet/lock && echo held || echo free")).stdout.trim(), "free");
  });

  it("waits for a lock a live rollout renews, names its holder and expiry, and never says to remove it", async () => {
    const until = (await hostNow("srv1")) + 600;
    await plantLock("srv1", "laptop-of-someone", 777, until);
    try {
      const spec = plan((inv) => {
        inv.timeouts = { ...inv.timeouts, lockSeconds: 2 };
        inv.hosts[0].nix = { settings: { environment: { variables: { LOCK_HELD: "1" } } } };
      }).get("srv1")!;
      await assert.rejects(rollOut(spec), (e: Error) => {
        assert.match(e.message, /^srv1: lock failed: the lock is held by the rollout by pid 777 on laptop-of-someone/);
        assert.match(e.message, new RegExp(`until ${new Date(until * 1000).toISOString().replace(/\./g, "\\.")}`));
        assert.doesNotMatch(e.message.split("what to do:")[1] ?? "", /\brm\b|remove/);
        return true;
      });
      assert.match((await run("srv1", "cat /var/lib/nixos-fleet/lock/owner")).stdout, /machine=laptop-of-someone/, "the live lock was left alone");
    } finally {
      await run("srv1", "rm -rf /var/lib/nixos-fleet/lock");
    }
  });

  it("never leaves a lock without its owner, even when the command taking it dies after creating the folder", async () => {
    // Each lock command runs with a file size limit of 0: the first write into a file kills the
    // writer (SIGXFSZ), a crash at the worst moment, right after the lock folder exists.
    const crashing = (h: Host): Host => ({
      ...h,
      name: h.name,
      exec: (command, options) => h.exec(/nixos-fleet\/lock/.test(command) && !/rm -rf/.test(command.split("\n")[0]) ? `ulimit -f 0\n${command}` : command, options),
      close: () => h.close(),
    });
    const spec = plan().get("srv3")!;
    const lines: string[] = [];
    await assert.rejects(applyHost(spec, { files: Object.keys(spec.files) }, { ...depsFor(spec, { lines }), connector: connectorOf(spec, crashing) }), /srv3: lock failed: taking the lock \/var\/lib\/nixos-fleet\/lock failed/);
    const left = await run("srv3", "ls -A /var/lib/nixos-fleet | grep '^lock' | grep -v '^lock.guard$' || true");
    assert.equal(left.stdout.trim(), "", `left behind: ${left.stdout}`);
  });

  it("never has two hosts disrupted at once when two rollouts of the same cluster start close together", async () => {
    const since = Date.now();
    const specs = plan((inv) => {
      inv.timeouts = { ...inv.timeouts, lockSeconds: 120 };
      inv.hosts[1].nix = { settings: { boot: { kernelParams: ["lease=a"] } } };
      inv.hosts[2].nix = { settings: { boot: { kernelParams: ["lease=b"] } } };
    });
    // Two stacks over the same fleet: separate rollouts (own tokens), started 300 ms apart.
    const log = console.log;
    const first = rollOut(specs.get("srv2")!);
    await new Promise((r) => setTimeout(r, 300));
    const second = rollOut(specs.get("srv3")!);
    // Two overlapping console captures restore each other's stand-in: put the real one back.
    const [a, b] = await Promise.all([first, second]).finally(() => (console.log = log));
    assert.equal(a.props.rebooted, true);
    assert.equal(b.props.rebooted, true);
    assertNeverTwoDisrupted(events(since));
    assert.ok([...a.lines, ...b.lines].some((l) => /waiting for the fleet lease kube-system\/nixos-fleet-rollout, held by nixos-fleet rollout of srv[23]/.test(l)), [...a.lines, ...b.lines].join("\n"));
    const kc = new KubeConfig();
    kc.loadFromString(fs.readFileSync(fj.kubeconfig, "utf8"));
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: "nixos-fleet-rollout", namespace: "kube-system" });
    assert.equal(lease.spec?.holderIdentity, undefined, "the lease is released at the end");
    assert.ok(lease.spec?.renewTime, "renewed by its holders");
  });

  it("stops a rollout told to stop during the reboot: no uncordon, the node marked; the next rollout uncordons it once healthy", async () => {
    const cluster = kubeCluster(fs.readFileSync(fj.kubeconfig, "utf8"));
    const spec = plan((inv) => (inv.hosts[1].nix = { settings: { boot: { kernelParams: ["stopped=1"] } } })).get("srv2")!;
    const previous = { files: Object.keys(state.get("srv2")!.files) };
    const controller = new AbortController();
    const lines: string[] = [];
    const since = Date.now();
    const stop = setInterval(() => {
      if (events(since, "srv2").some((e) => e.kind === "reboot-started")) controller.abort("the Pulumi CLI is gone");
    }, 20);
    let stoppedAt = 0;
    try {
      await assert.rejects(
        applyHost(spec, previous, depsFor(spec, { lines, owner: { pid: GONE_PID, machine: os.hostname(), token: "stopped" }, signal: controller.signal, clock: stoppableClock(controller.signal) })),
        (e: Error) => {
          stoppedAt = Date.now();
          assert.match(e.message, /stays cordoned, marked nixos-fleet\.dev\/interrupted-rollout/);
          assert.doesNotMatch(e.message, /rolled back/);
          return true;
        },
      );
    } finally {
      clearInterval(stop);
    }
    const node = await cluster.getNode("srv2");
    assert.equal(node?.unschedulable, true);
    assert.ok(await cluster.getNodeAnnotation("srv2", INTERRUPTED_ANNOTATION));
    const after = events(since, "srv2").filter((e) => e.t >= stoppedAt).map((e) => e.kind);
    assert.ok(!after.includes("uncordon") && !after.includes("cordon"), after.join(","));
    assert.equal(events(since, "srv2").filter((e) => e.kind === "reboot-started").length, 1, "no rollback reboot");

    const resumeLines: string[] = [];
    const outputs = await applyHost(spec, previous, depsFor(spec, { lines: resumeLines }));
    assert.ok(resumeLines.some((l) => /an earlier rollout stopped at reboot .* left srv2 cordoned/.test(l)), resumeLines.join("\n"));
    assert.equal((await run("srv2", "test -e /var/lib/nixos-fleet/lock && echo held || echo free")).stdout.trim(), "free");
    assert.equal((await cluster.getNode("srv2"))?.unschedulable, false);
    assert.equal(await cluster.getNodeAnnotation("srv2", INTERRUPTED_ANNOTATION), undefined);
    assert.equal(outputs.systemPath, (await run("srv2", "readlink -f /run/booted-system")).stdout.trim());
  });
});
