import * as assert from "node:assert/strict";
import { DRAIN_DEFAULTS } from "../../lib/inventory/defaults";
import { RolloutError } from "../../lib/rollout/errors";
import { claimNode, removeHost } from "../../lib/rollout/inspect";
import { type ChangeReport, NO_CHANGES } from "../../lib/rollout/changes";
import type { HostOutputs } from "../../lib/rollout/outputs";
import { type HostProps, specOf } from "../../providers/props";
import { changedKeys, channelNotSet, diffHost, driftOf, failedRolloutProps, RecordedFailure, withLiveFiles } from "../../providers/state";
import { fileHashes, stagingDirFor } from "../../lib/nixos/staging";
import { FakeCluster } from "../fakes/cluster";
import { testSpec } from "../fakes/specs";

const S0 = "/nix/store/aaaa-nixos-system-srv2-0";
const S1 = "/nix/store/bbbb-nixos-system-srv2-1";
const PROVIDER = "exports.handler = __f0; /* serialized */";

function outputs(system: string, generation: number): HostOutputs {
  return { systemPath: system, generation, bootedKernel: "6.6.45", bootId: "b1", rebooted: false, rebootedAt: "", rebootReason: "activated live", pendingReboot: false, changes: NO_CHANGES };
}

/** What a rollout that moved srv2 to a new kernel reported. */
const KERNEL_BUMP: ChangeReport = {
  changed: true,
  kernel: { from: "6.6.45", to: "6.6.46" },
  nixosVersion: { from: "24.05.20240812.5f2c6b1", to: "24.05.20240819.8a7d3e2" },
  packages: { added: [], removed: [], upgraded: [{ name: "linux", from: "6.6.45", to: "6.6.46" }] },
  packagesError: "",
};

/** The state after a successful rollout of `spec` that left `system` running. */
function recorded(system: string, overrides: Partial<HostProps> = {}): HostProps {
  return { ...testSpec("srv2"), ...outputs(system, 2), rolledOutSystem: system, pinnedHostKey: "", readError: "", ...overrides };
}

describe("NixosHost state: drift and diff", () => {
  it("shows no change when the inputs are the same and the host runs what its last rollout left", () => {
    const olds = recorded(S1);
    assert.equal(driftOf(olds), undefined);
    assert.deepEqual(diffHost(olds, testSpec("srv2")), { changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("shows runningSystem as a change when a refresh found another system running", () => {
    // read() replaced systemPath with what the host runs after a hand `nixos-rebuild --rollback`.
    const olds = recorded(S1, { systemPath: S0 });
    assert.match(driftOf(olds)!, new RegExp(`runs ${S0}, not ${S1} as its last rollout left it`));
    assert.deepEqual(changedKeys(olds, testSpec("srv2")), ["runningSystem"]);
    assert.equal(diffHost(olds, testSpec("srv2")).changes, true);
    assert.deepEqual(diffHost(olds, testSpec("srv2")).replaces, []);
  });

  it("keeps state recorded before the running system was tracked free of drift", () => {
    const { rolledOutSystem, ...old } = recorded(S1, { systemPath: S0 });
    void rolledOutSystem;
    assert.equal(driftOf(old), undefined);
    assert.equal(diffHost(old, testSpec("srv2")).changes, false);
  });

  it("treats a host never rolled out successfully, or not readable, as needing a rollout", () => {
    assert.match(driftOf(recorded(S0, { rolledOutSystem: "" }))!, /no rollout of srv2 has finished yet/);
    assert.match(driftOf(recorded(S1, { readError: "srv2: connect failed: timed out" }))!, /could not be read .*timed out/);
  });

  it("replaces a renamed host and names the changed inputs", () => {
    assert.deepEqual(diffHost(recorded(S1), testSpec("srv9")).replaces, ["name"]);
    assert.deepEqual(changedKeys(recorded(S1), testSpec("srv2", { action: "boot" })), ["action"]);
  });

  it("takes the outputs out of a property bag and keeps the inputs", () => {
    const spec = specOf(recorded(S1, { systemPath: S0 }));
    for (const k of ["systemPath", "generation", "rolledOutSystem", "pinnedHostKey", "readError"]) assert.ok(!(k in spec), k);
    assert.deepEqual(spec, testSpec("srv2"));
  });
});

describe("NixosHost state after a failed rollout", () => {
  const news = { ...testSpec("srv2", { files: { "configuration.nix": "new\n" } }), __provider: PROVIDER } as HostProps;

  it("records the live files and systems with the new inputs and the engine's provider key", () => {
    const olds = recorded(S0, { files: { "configuration.nix": "old\n" } });
    const props = failedRolloutProps(news, olds, { kind: "read", files: { "configuration.nix": "old\n" }, outputs: outputs(S0, 3) }, "");
    assert.equal((props as unknown as Record<string, unknown>).__provider, PROVIDER);
    assert.deepEqual(props.files, { "configuration.nix": "old\n" });
    assert.equal(props.systemPath, S0);
    assert.equal(props.generation, 3);
    assert.equal(props.rolledOutSystem, S0, "what the last successful rollout left stays");
    assert.equal(props.readError, "");
    // Running `up` again with the same change: the files differ from the inputs, so it rolls out again.
    assert.deepEqual(changedKeys(props, news), ["files"]);
    // Reverting the change: the host runs what the state said before, so there is nothing to do.
    assert.equal(diffHost(props, { ...news, files: { "configuration.nix": "old\n" } }).changes, false);
  });

  it("shows a change on revert when the failure left the new system running", () => {
    const olds = recorded(S0, { files: { "configuration.nix": "old\n" } });
    const props = failedRolloutProps(news, olds, { kind: "read", files: { "configuration.nix": "new\n" }, outputs: outputs(S1, 3) }, "");
    assert.deepEqual(changedKeys(props, { ...news, files: { "configuration.nix": "old\n" } }), ["files", "runningSystem"]);
    assert.deepEqual(changedKeys(props, news), ["runningSystem"]);
  });

  it("says when the host could not be read, and the next run rolls it out again", () => {
    const olds = recorded(S0, { files: { "configuration.nix": "old\n" } });
    const props = failedRolloutProps(news, olds, { kind: "unreachable", reason: "srv2: connect failed: refused" }, "");
    assert.equal(props.readError, "srv2: connect failed: refused");
    assert.equal(props.systemPath, "");
    assert.deepEqual(props.files, { "configuration.nix": "old\n" });
    assert.equal(diffHost(props, { ...news, files: { "configuration.nix": "old\n" } }).changes, true);
    for (const [k, v] of Object.entries(props)) assert.notEqual(v, undefined, `${k} is undefined`);
  });

  it("keeps the recorded channel when only setting the host's channel failed, so the next run sets it", () => {
    const pinned = (url: string) => ({ url, upgradeToken: "" });
    const olds = recorded(S0, { channel: pinned("https://nixos.org/channels/nixos-24.05") });
    const wanted = { ...news, channel: pinned("https://nixos.org/channels/nixos-24.11") } as HostProps;
    // The host runs the same system as before (the channel had nothing new), so only the channel can tell.
    const props = failedRolloutProps(channelNotSet(wanted, olds), olds, { kind: "read", files: news.files, outputs: outputs(S0, 2) }, "");
    assert.deepEqual(changedKeys(props, wanted), ["channel"]);
    const firstPin = failedRolloutProps(channelNotSet(wanted, recorded(S0)), recorded(S0), { kind: "read", files: news.files, outputs: outputs(S0, 2) }, "");
    assert.equal("channel" in firstPin, false, "a channel never set is not recorded");
    assert.deepEqual(changedKeys(firstPin, wanted), ["channel"]);
  });

  it("a failed rollout whose host cannot be read reports no change, not the earlier rollout's", () => {
    const olds = recorded(S0, { changes: KERNEL_BUMP });
    const unreachable = failedRolloutProps(news, olds, { kind: "unreachable", reason: "refused" }, "");
    assert.deepEqual(unreachable.changes, NO_CHANGES);
    assert.equal(unreachable.bootedKernel, "6.6.45", "the other earlier outputs are kept");
  });

  it("records a failed create with no finished rollout", () => {
    const props = failedRolloutProps(news, undefined, { kind: "read", files: { "configuration.nix": "new\n" }, outputs: outputs(S1, 2) }, "ssh-ed25519 AAAA");
    assert.equal(props.rolledOutSystem, "");
    assert.equal(props.pinnedHostKey, "ssh-ed25519 AAAA");
    assert.equal(diffHost(props, news).changes, true);
  });

  it("carries id, properties and the full rollout message as the dynamic provider expects", () => {
    const cause = new RolloutError("srv2", "health", "gate \"marker\" did not pass", "look at the gate", { command: "false", exitCode: 1, output: "no" });
    const props = failedRolloutProps(news, undefined, { kind: "unreachable", reason: "x" }, "");
    const e = new RecordedFailure("srv2", props, cause);
    assert.equal(e.id, "srv2");
    assert.equal(e.properties, props);
    assert.equal(e.message, cause.message);
    assert.deepEqual(e.reasons, [cause.message]);
    assert.match(e.message, /^srv2: health failed: gate "marker" did not pass\ncommand: false \(exit 1\)/);
  });
});

describe("a Node claimed by a renamed host", () => {
  const timeouts = testSpec("x").timeouts;

  it("is left alone by the delete of the host it belonged to", async () => {
    const c = new FakeCluster().addNode("n2");
    await claimNode(c, "srv2", "n2", () => undefined);
    const lines: string[] = [];
    await claimNode(c, "web2", "n2", (l) => lines.push(l));
    assert.deepEqual(lines, ["web2: Node n2 belonged to srv2; it belongs to web2 now"]);
    await removeHost("srv2", c, "n2", { timeouts, drain: DRAIN_DEFAULTS }, (l) => lines.push(l));
    assert.ok(c.nodes.has("n2"));
    assert.ok(!c.calls.some((x) => x.startsWith("cordon") || x.startsWith("delete")), c.calls.join(","));
    assert.match(lines[1], /srv2 left the fleet; Node n2 now belongs to web2 and was left as it is/);
  });

  it("is drained and deleted by the delete of its own host, claimed or not", async () => {
    for (const owner of ["srv2", undefined]) {
      const c = new FakeCluster().addNode("n2");
      if (owner) await claimNode(c, owner, "n2", () => undefined);
      await removeHost("srv2", c, "n2", { timeouts, drain: DRAIN_DEFAULTS }, () => undefined);
      assert.ok(!c.nodes.has("n2"), `owner ${owner}`);
    }
  });
});

describe("NixosHost state with a configuration built ahead", () => {
  const files = { "configuration.nix": "{ ... }: { imports = [ ./fleet/host.nix ]; }\n", "fleet/host.nix": "{ hostName = \"srv2\"; }\n" };
  const staged = { dir: stagingDirFor(files), system: S1, fileHashes: fileHashes(files) };
  const spec = testSpec("srv2", { files: {}, staged });

  it("keeps the hashes of the files rolled out, not their contents, while the host has them", () => {
    const read = withLiveFiles(recorded(S1, { files: {}, staged }), files);
    assert.deepEqual(read.staged, staged);
    assert.deepEqual(read.files, {});
    assert.equal(read.editedFiles, undefined);
    assert.equal(driftOf(read), undefined);
    assert.equal(diffHost(read, spec).changes, false);
  });

  it("shows a hand edit and a missing file as drift, with the files as found, until the host has them as rolled out", () => {
    const edited = { ...files, "configuration.nix": `${files["configuration.nix"]}# hand edit\n` };
    const read = withLiveFiles(recorded(S1, { files: {}, staged }), edited);
    assert.deepEqual(read.editedFiles, { "configuration.nix": edited["configuration.nix"] });
    assert.deepEqual(read.staged, staged, "the rolled-out hashes stay");
    assert.deepEqual(changedKeys(read, spec), ["editedFiles"]);
    assert.match(driftOf(read) ?? "", /configuration\.nix under \/etc\/nixos is not as the last rollout left it/);
    assert.ok(!("editedFiles" in specOf(read)), "editedFiles is no input");
    assert.deepEqual(withLiveFiles(read, edited).editedFiles, read.editedFiles, "a second refresh still shows it");
    const missing = withLiveFiles(recorded(S1, { files: {}, staged }), { "configuration.nix": files["configuration.nix"] });
    assert.deepEqual(missing.editedFiles, { "fleet/host.nix": null });
    assert.equal(diffHost(missing, spec).changes, true);
    assert.equal(withLiveFiles(read, files).editedFiles, undefined, "put back by hand: no drift");
  });

  it("records after a failure the files the host has, and keeps the build when the host cannot be read", () => {
    const olds = recorded(S0, { files: {}, staged: { ...staged, system: S0 } });
    const before = { ...files, "fleet/host.nix": "{ hostName = \"srv2\"; old = true; }\n" };
    const news = { ...spec, __provider: PROVIDER } as HostProps;
    const read = failedRolloutProps(news, olds, { kind: "read", files: before, outputs: outputs(S0, 1) }, "");
    assert.deepEqual(read.staged, staged, "the new build stays the one to activate");
    assert.deepEqual(read.editedFiles, { "fleet/host.nix": before["fleet/host.nix"] }, "the host still has the old file");
    assert.equal(diffHost(read, spec).changes, true);
    const lost = failedRolloutProps(news, olds, { kind: "unreachable", reason: "connection refused" }, "");
    assert.deepEqual(lost.staged, olds.staged);
    assert.equal(lost.readError, "connection refused");
  });
});
