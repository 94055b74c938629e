/**
 * What the NixosHost provider records and compares, against the simulated fleet: the state
 * after a failed rollout, a host running another system after a refresh, the host key trusted
 * on first use, a host renamed with its nodeName, and a rotated login key.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { utils } from "ssh2";
import { NODE_OWNER_ANNOTATION } from "../../lib/cluster/cluster";
import { kubeCluster } from "../../lib/cluster/kube";
import { fingerprint, parsePublicKeyLine } from "../../lib/host/keys";
import type { HostSpec } from "../../lib/rollout/spec";
import * as impl from "../../providers/impl";
import type { HostProps } from "../../providers/props";
import { RecordedFailure } from "../../providers/state";
import { SimFleet } from "../../sim/fleet";
import type { FleetJson, SimTimings } from "../../sim/types";
import { exec1 } from "./helpers/fleet-client";
import { captureConsole, inventoryFor, planForFleet, rollOutThrough } from "./helpers/provider-harness";

const TIMINGS: Partial<SimTimings> = { downMs: 600, slowBootMs: 2000, systemdSettleMs: 300, kubeletReadyMs: 300, podTerminationMs: 100, rescheduleMs: 300 };
/** Stands for the serialized provider the engine passes with the inputs. */
const PROVIDER_KEY = "__provider";
const PROVIDER = "exports.handler = __f0; // serialized provider";

type Inventory = ReturnType<typeof inventoryFor>;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("NixosHost provider state against the simulated fleet", function () {
  this.timeout(240_000);
  let stateDir: string;
  let fleet: SimFleet;
  let fj: FleetJson;
  const state = new Map<string, HostProps>();

  function plan(edit: (inv: Inventory) => void = () => undefined): Map<string, HostSpec> {
    const inv = inventoryFor();
    edit(inv);
    return new Map(planForFleet(inv, fj, { k3sToken: "token-1" }).map((s) => [s.name, s]));
  }
  /** The inputs as the engine hands them to the provider: with its serialized provider. */
  const inputs = (spec: HostSpec): HostProps => ({ ...spec, [PROVIDER_KEY]: PROVIDER }) as HostProps;
  const run = (name: string, command: string) => exec1(fj, name, command);
  const live = async (name: string, link = "/run/current-system") => (await run(name, `readlink -f ${link}`)).stdout.trim();
  const events = (since: number, host: string) => fleet.timeline().filter((e) => e.t >= since && e.host === host);

  const rollOut = (spec: HostSpec) => rollOutThrough(state, spec, inputs);

  /** Rolls out and expects a failure recorded as partial state; the state becomes what it recorded. */
  async function failedRollOut(spec: HostSpec): Promise<RecordedFailure> {
    let failure: RecordedFailure | undefined;
    await assert.rejects(rollOut(spec), (e: unknown) => {
      assert.ok(e instanceof RecordedFailure, `a plain error, not recorded as partial state: ${String(e)}`);
      failure = e;
      return true;
    });
    state.set(spec.name, failure!.properties);
    return failure!;
  }

  before(async function () {
    assert.equal(process.getuid?.(), 0, "the simulated fleet needs root");
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nfsim-provider-state-"));
    fleet = await SimFleet.start({ stateDir, hosts: 3, timings: TIMINGS });
    fj = fleet.fleetJson;
    for (const spec of plan().values()) await rollOut(spec);
  });

  after(async function () {
    await fleet?.stop();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("records what the host runs when a rollout fails, so the same change rolls out again", async () => {
    const before = state.get("srv2")!;
    const oldHostNix = (await run("srv2", "cat /etc/nixos/fleet/host.nix")).stdout;
    const change = (inv: Inventory) => (inv.hosts[1].nix = { settings: { environment: { variables: { STATE_TEST: "1" } } } });
    const spec = plan(change).get("srv2")!;
    await fleet.setFault("srv2", "build-fails", true);
    let failure: RecordedFailure;
    try {
      failure = await failedRollOut(spec);
    } finally {
      await fleet.setFault("srv2", "build-fails", false);
    }
    // The user sees the rollout's own message, whole.
    assert.match(failure.message, /^srv2: build failed: .*nothing was changed on srv2: the previous files under \/etc\/nixos and the secret files were put back/s);
    assert.match(failure.message, /what to do: fix the Nix error/);
    // (The test harness appends the progress lines to the message it sees.)
    assert.deepEqual(failure.reasons, [failure.cause.message]);
    assert.ok(failure.message.startsWith(failure.cause.message));
    assert.equal(failure.id, "srv2");
    const props = failure.properties;
    assert.equal((props as unknown as Record<string, unknown>)[PROVIDER_KEY], PROVIDER, "the engine's provider key is kept");
    assert.equal(props.systemPath, await live("srv2"));
    assert.equal(props.generation, Number((await run("srv2", "readlink /nix/var/nix/profiles/system")).stdout.match(/system-(\d+)-link/)![1]));
    assert.equal(props.files["fleet/host.nix"], oldHostNix, "the files are the ones on the host, not the failed change");
    assert.equal(props.rolledOutSystem, before.rolledOutSystem);
    assert.equal(props.readError, "");
    // Reverting the change: the host is as the state said before, nothing to do.
    assert.equal((await impl.diff("srv2", props, inputs(plan().get("srv2")!))).changes, false);
    // The same change again: it is a change, and it rolls out.
    assert.equal((await impl.diff("srv2", props, inputs(spec))).changes, true);
    const { props: after } = await rollOut(spec);
    assert.ok(after.generation! > props.generation!, `generation ${after.generation} after ${props.generation}`);
    assert.equal(after.systemPath, await live("srv2"));
    assert.equal(after.rolledOutSystem, after.systemPath);
  });

  it("records that the host could not be read when a rollout leaves it unreachable", async () => {
    const since = Date.now();
    await fleet.setFault("srv3", "never-returns", true);
    let failure: RecordedFailure;
    try {
      const spec = plan((inv) => {
        inv.timeouts = { ...inv.timeouts, shutdownSeconds: 1, bootSeconds: 2, connectSeconds: 1, confirmSeconds: 2 };
        inv.hosts[2].nix = { settings: { boot: { kernelParams: ["unreachable=1"] } } };
      }).get("srv3")!;
      failure = await failedRollOut(spec);
    } finally {
      await fleet.setFault("srv3", "never-returns", false);
    }
    // 1 + 2 s to come back, 2 s of its guard, then 1 + 2 s more: the first boot reached may be the guard's return.
    assert.match(failure.message, /^srv3: boot failed: gave up after 8s waiting for srv3 to come back/);
    assert.match(failure.properties.readError!, /^srv3: read failed: srv3: could not connect|^srv3: connect failed:/);
    assert.equal(failure.properties.systemPath, "");
    assert.equal((await impl.diff("srv3", failure.properties, inputs(plan().get("srv3")!))).changes, true);
    for (let end = Date.now() + 15_000; Date.now() < end && !events(since, "srv3").some((e) => e.kind === "up"); ) await new Promise((r) => setTimeout(r, 100));
    // The rollout that failed could not unlock the host it could not reach; this process holds it.
    await run("srv3", "rm -rf /var/lib/nixos-fleet/lock");
    // Reverting the change rolls the host out again, since its state is unknown.
    const { props } = await rollOut(plan().get("srv3")!);
    assert.equal(props.readError, "");
    assert.equal(props.systemPath, await live("srv3"));
  });

  it("shows a host that runs another system after a refresh as a change, and rolls it out again", async () => {
    const spec = plan().get("srv1")!;
    const rolledOut = state.get("srv1")!;
    const leftRunning = await live("srv1");
    assert.equal((await impl.diff("srv1", rolledOut, inputs(spec))).changes, false);
    const back = await run("srv1", "nixos-rebuild switch --rollback 2>&1");
    assert.equal(back.code, 0, back.stdout);
    const handRolledBack = await live("srv1");
    assert.notEqual(handRolledBack, leftRunning);
    const refreshed = (await impl.read("srv1", rolledOut)).props as HostProps;
    assert.equal(refreshed.systemPath, handRolledBack);
    assert.equal((await impl.diff("srv1", refreshed, inputs(spec))).changes, true, "the hand rollback shows no change");
    state.set("srv1", refreshed);
    const { props, lines } = await rollOut(spec);
    assert.ok(lines.some((l) => l.includes(`srv1: the host runs ${handRolledBack}, not ${leftRunning} as its last rollout left it; rolling it out again`)), lines.join("\n"));
    assert.equal(await live("srv1"), leftRunning);
    assert.equal(props.systemPath, leftRunning);
    assert.equal(props.rolledOutSystem, leftRunning);
    assert.equal((await impl.diff("srv1", props, inputs(spec))).changes, false);
  });

  it("pins the host key trusted on first use and refuses another one afterwards, also after a reboot", async () => {
    const presented = parsePublicKeyLine(fj.hosts[2].hostKey).blob;
    const tofu = (spec: HostSpec): HostSpec => ({ ...spec, hostKey: "", trustOnFirstUse: true });
    const since = Date.now();
    const first = await rollOut(tofu(plan((inv) => (inv.hosts[2].nix = { settings: { environment: { variables: { TOFU: "1" } } } })).get("srv3")!));
    assert.ok(parsePublicKeyLine(first.props.pinnedHostKey!).blob.equals(presented), first.props.pinnedHostKey);
    assert.ok(first.lines.some((l) => l.startsWith(`srv3: trusted host key ${fingerprint(presented)} on first use`)), first.lines.join("\n"));

    // Another machine answers at the address on the next run: refused before anything is touched.
    await fleet.setFault("srv3", "host-key-changed", true);
    try {
      const next = tofu(plan((inv) => (inv.hosts[2].nix = { settings: { environment: { variables: { TOFU: "2" } } } })).get("srv3")!);
      await assert.rejects(rollOut(next), (e: Error) => {
        assert.ok(!(e instanceof RecordedFailure), "nothing was touched: the state stays");
        assert.match(e.message, new RegExp(`^srv3: connect failed: .*does not match the pinned key \\(${escapeRegExp(fingerprint(presented))}\\)`, "s"));
        return true;
      });
      await assert.rejects(impl.read("srv3", state.get("srv3")!), (e: Error) => /does not match the pinned key/.test(e.message));
    } finally {
      await fleet.setFault("srv3", "host-key-changed", false);
    }
    assert.deepEqual(events(since, "srv3").filter((e) => e.kind === "build-started").length, 1);

    // Another machine answers after the reboot of a rollout: the reconnect refuses it too.
    const reboot = tofu(plan((inv) => {
      inv.timeouts = { ...inv.timeouts, bootSeconds: 3, shutdownSeconds: 2, connectSeconds: 2 };
      inv.hosts[2].nix = { settings: { boot: { kernelParams: ["tofu=1"] } } };
    }).get("srv3")!);
    const watch = setInterval(() => {
      if (events(since, "srv3").some((e) => e.kind === "reboot-started")) {
        clearInterval(watch);
        void fleet.setFault("srv3", "host-key-changed", true);
      }
    }, 20);
    try {
      const failure = await failedRollOut(reboot);
      assert.match(failure.message, /does not match the pinned key/);
      assert.ok(parsePublicKeyLine(failure.properties.pinnedHostKey!).blob.equals(presented), "the pin survives the failure");
    } finally {
      clearInterval(watch);
      await fleet.setFault("srv3", "host-key-changed", false);
    }
    // An inventory hostKey always wins over the pin.
    const wrongPin = { ...state.get("srv3")!, pinnedHostKey: fj.hosts[0].hostKey };
    const read = (await impl.read("srv3", { ...wrongPin, hostKey: fj.hosts[2].hostKey, trustOnFirstUse: true })).props as HostProps;
    assert.equal(read.pinnedHostKey, "");
    await run("srv3", "rm -rf /var/lib/nixos-fleet/lock");
  });

  it("leaves the Node alone when a renamed host keeps its nodeName", async () => {
    const since = Date.now();
    const cluster = kubeCluster(fs.readFileSync(fj.kubeconfig, "utf8"));
    const old = state.get("srv2")!;
    // The inventory renames srv2 to web2 and keeps nodeName srv2: Pulumi creates web2, then deletes srv2.
    const renamed: HostSpec = { ...plan().get("srv2")!, name: "web2" };
    assert.deepEqual((await impl.diff("srv2", old, inputs(renamed))).replaces, ["name"]);
    const created = await captureConsole(() => impl.create(inputs(renamed)));
    assert.ok(created.result.outs);
    const removed = await captureConsole(() => impl.remove("srv2", old));
    const node = await cluster.getNode("srv2");
    assert.ok(node, "the Node was deleted");
    assert.equal(node.unschedulable, false);
    assert.deepEqual(events(since, "srv2").filter((e) => ["cordon", "eviction", "node-deleted"].includes(e.kind)), []);
    assert.ok(removed.lines.some((l) => l === "srv2 left the fleet; Node srv2 now belongs to web2 and was left as it is"), removed.lines.join("\n"));
    assert.equal(await cluster.getNodeAnnotation("srv2", NODE_OWNER_ANNOTATION), "web2");
  });

  it("rotates the login key: the previous key until the host authorizes the new one, then the new one", async () => {
    const since = Date.now();
    const generated = utils.generateKeyPairSync("ed25519");
    const newPub = generated.public.trim();
    const newFp = fingerprint(parsePublicKeyLine(newPub).blob);
    // The configuration authorizes the new key; the rollout logs in with it.
    const rotated = (n: string): HostSpec => ({
      ...plan((inv) => {
        inv.ssh = { authorizedKeys: [newPub] };
        inv.hosts[0].nix = { settings: { environment: { variables: { ROTATION: n } } } };
      }).get("srv1")!,
      sshPrivateKey: generated.private,
    });

    // The host does not know the new key until the new configuration is activated (sshd follows
    // the activated system's authorized keys, as on NixOS): the rollout logs in with the previous
    // key, activates, then checks that the new key logs in.
    const { props, lines } = await rollOut(rotated("2"));
    assert.ok(lines.some((l) => l.startsWith("srv1: the host does not accept the new SSH private key yet; logged in with the previous one")), lines.join("\n"));
    assert.ok(lines.includes("srv1: the host accepts the new SSH private key now"), lines.join("\n"));
    assert.equal(props.sshPrivateKey, generated.private);
    const log = fs.readFileSync(path.join(stateDir, "hosts", "srv1", "sshd", "sshd.log"), "utf8");
    assert.ok(log.includes(newFp), "sshd accepted the new key");
    // With the new key in the state, the next run logs in with it alone.
    const again = await rollOut(rotated("3"));
    assert.ok(!again.lines.some((l) => /previous one/.test(l)), again.lines.join("\n"));

    // A key change alone rolls nothing out, but is recorded only once the host accepts the key.
    const unknownKey = utils.generateKeyPairSync("ed25519").private;
    const builds = events(since, "srv1").filter((e) => e.kind === "build-started").length;
    const quiet = await failedRollOut({ ...rotated("3"), sshPrivateKey: unknownKey });
    assert.match(quiet.message, /^srv1: connect failed: the host refuses the new SSH private key/);
    assert.equal(quiet.properties.sshPrivateKey, generated.private);
    assert.equal(events(since, "srv1").filter((e) => e.kind === "build-started").length, builds);
  });
});
