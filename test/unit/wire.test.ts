/**
 * The grouped shape of the hosts' and builds' properties at the engine (providers/wire.ts) and
 * the implementations facing the engine with it (providers/engine.ts).
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import type * as pulumi from "@pulumi/pulumi";
import { NO_CHANGES } from "../../lib/rollout/changes";
import { RolloutError } from "../../lib/rollout/errors";
import { OUTPUT_KEYS } from "../../lib/rollout/outputs";
import { engineFacing, grouped as groupedCodec, type Operations } from "../../providers/engine";
import { type HostProps, ROLLOUT_INPUTS, SECRET_PROPS } from "../../providers/props";
import { RecordedFailure } from "../../providers/state";
import type { HostBuild } from "../../providers/fleetBuildProps";
import { BUILD_GROUPS, fromWire, HOST_GROUPS, isWire, toWire } from "../../providers/wire";
import { testSpec } from "../fakes/specs";

/** A host's whole state as impl.ts records it: every input, output and tracked key, and the engine's provider text. */
function hostState(): HostProps & { __provider: string } {
  return {
    ...testSpec("srv2", {
      files: {},
      staged: { dir: "/var/lib/nixos-fleet/staging/abc", system: "/nix/store/s-nixos-system-srv2", fileHashes: { "configuration.nix": "h1" } },
      channel: { url: "https://nixos.org/channels/nixos-24.11", upgradeToken: "" },
      kubernetes: { kubeconfig: "apiVersion: v1\n", nodeName: "srv2" },
    }),
    systemPath: "/nix/store/s-nixos-system-srv2",
    generation: 4,
    bootedKernel: "6.6.46",
    bootId: "b00t",
    rebooted: true,
    rebootedAt: "2026-12-02T10:00:00.000Z",
    rebootReason: "the kernel changed",
    pendingReboot: false,
    changes: NO_CHANGES,
    rolledOutSystem: "/nix/store/s-nixos-system-srv2",
    pinnedHostKey: "",
    readError: "",
    editedFiles: { "configuration.nix": null },
    __provider: "exports.handler = …",
  };
}

describe("the properties at the engine (providers/wire.ts)", () => {
  it("group every setting and output of a host, and keep its name, secrets and the engine's keys at the top level", () => {
    const wire = toWire(HOST_GROUPS, hostState());
    assert.deepEqual(Object.keys(wire).sort(), ["__provider", "editedFiles", "kubernetes", "name", "nixos", "rollout", "secretFiles", "ssh", "sshPrivateKey", "status", "tracked"]);
    assert.deepEqual(wire.ssh, { address: "127.0.0.1", port: 22, user: "root", hostKey: "", trustOnFirstUse: false });
    assert.equal((wire.status as { generation: number }).generation, 4);
    assert.deepEqual(fromWire(HOST_GROUPS, wire), hostState());
  });

  it("name every input and output of a host and a build in a group, or keep it at the top level where a secret must stay", () => {
    const grouped = (groups: Readonly<Record<string, readonly string[]>>) => new Set(Object.values(groups).flat());
    const host = grouped(HOST_GROUPS);
    const topLevel = new Set<string>([...SECRET_PROPS, "name"]);
    for (const k of [...ROLLOUT_INPUTS, ...OUTPUT_KEYS]) assert.ok(host.has(k) !== topLevel.has(k), `${k} is in ${host.has(k) ? "a group and at the top level" : "no group"}`);
    for (const secret of SECRET_PROPS) assert.ok(!host.has(secret), `the secret ${secret} would lose its secrecy in a group`);
    const build = grouped(BUILD_GROUPS);
    const buildInputs = ["address", "port", "user", "hostKey", "trustOnFirstUse", "stagingDir", "channel", "flake", "timeouts"] as const satisfies readonly (keyof HostBuild)[];
    for (const k of buildInputs) assert.ok(build.has(k), `the build's ${k} is in no group`);
    assert.ok(!build.has("sshPrivateKey") && !build.has("files"));
  });

  it("take state written flat by 0.1.0 as it is", () => {
    const flat = hostState() as unknown as Record<string, unknown>;
    assert.equal(isWire(flat), false);
    assert.deepEqual(fromWire(HOST_GROUPS, flat), flat);
    assert.equal(isWire(toWire(HOST_GROUPS, flat)), true);
  });

  it("leave out undefined values and groups with nothing in them", () => {
    const wire = toWire(HOST_GROUPS, { name: "srv1", address: "127.0.0.2", channel: undefined, systemPath: undefined });
    assert.deepEqual(wire, { name: "srv1", ssh: { address: "127.0.0.2" } });
  });

  it("round-trip any part of a host's or a build's properties", () => {
    const full = hostState() as unknown as Record<string, unknown>;
    const keys = Object.keys(full).filter((k) => k !== "address");
    fc.assert(
      fc.property(fc.subarray(keys), fc.constantFrom(HOST_GROUPS, BUILD_GROUPS), (picked, groups) => {
        // With `address` the result is grouped (isWire), as every state this version writes is.
        const props = Object.fromEntries(["address", ...picked].map((k) => [k, full[k]]));
        assert.deepEqual(fromWire(groups, toWire(groups, props)), props);
      }),
    );
  });
});

/** An implementation that records the properties it is given, in the shape it gets them. */
function recordingImpl(answers: { diffChanges?: boolean; fail?: boolean } = {}): { impl: Operations<HostProps>; seen: unknown[] } {
  const seen: unknown[] = [];
  const impl: Operations<HostProps> = {
    diff: async (_id, olds, news): Promise<pulumi.dynamic.DiffResult> => {
      seen.push({ olds, news });
      return { changes: answers.diffChanges ?? false, replaces: [], deleteBeforeReplace: false };
    },
    create: async (inputs) => {
      seen.push(inputs);
      if (answers.fail) throw new RecordedFailure(inputs.name, { ...inputs, systemPath: "/nix/store/old", readError: "" }, new RolloutError(inputs.name, "drain", "gave up", "free the pods"));
      return { id: inputs.name, outs: { ...inputs, generation: 2 } };
    },
    update: async (_id, _olds, news) => ({ outs: { ...news, generation: 3 } }),
    read: async (id, props) => ({ id, props: { ...props, bootId: "b2" } }),
    remove: async (id, props) => {
      seen.push({ removed: id, props });
    },
  };
  return { impl, seen };
}

describe("an implementation facing the engine (providers/engine.ts)", () => {
  const spec = testSpec("srv1");
  const wired = toWire(HOST_GROUPS, spec);

  it("gives the implementation flat properties and the engine grouped ones", async () => {
    const { impl, seen } = recordingImpl();
    const engine = engineFacing(impl, groupedCodec(HOST_GROUPS));
    const created = await engine.create(wired);
    assert.deepEqual(seen[0], spec);
    assert.deepEqual(created.outs, toWire(HOST_GROUPS, { ...spec, generation: 2 }));
    const updated = await engine.update("srv1", created.outs ?? {}, wired);
    assert.deepEqual((updated.outs as { status: unknown }).status, { generation: 3 });
    const read = await engine.read("srv1", updated.outs ?? {});
    assert.deepEqual((read.props as { status: unknown }).status, { generation: 3, bootId: "b2" });
  });

  it("reports a change for state written flat, so that the engine records it grouped, and the implementation's answer otherwise", async () => {
    const { impl, seen } = recordingImpl({ diffChanges: false });
    const engine = engineFacing(impl, groupedCodec(HOST_GROUPS));
    assert.equal((await engine.diff("srv1", wired, wired)).changes, false);
    assert.equal((await engine.diff("srv1", { ...spec }, wired)).changes, true);
    assert.deepEqual(seen[1], { olds: spec, news: spec }, "the implementation compares the same flat properties");
    const changing = engineFacing(recordingImpl({ diffChanges: true }).impl, groupedCodec(HOST_GROUPS));
    assert.equal((await changing.diff("srv1", wired, wired)).changes, true);
  });

  it("records a failure's properties grouped, with its message, id and reasons", async () => {
    const engine = engineFacing(recordingImpl({ fail: true }).impl, groupedCodec(HOST_GROUPS));
    const failure = await engine.create(wired).then(
      () => assert.fail("the create did not fail"),
      (e: unknown) => e as { message: string; id: string; properties: Record<string, unknown>; reasons: string[] },
    );
    assert.match(failure.message, /srv1: drain failed: gave up/);
    assert.equal(failure.id, "srv1");
    assert.deepEqual(failure.reasons, [failure.message]);
    assert.deepEqual(failure.properties.status, { systemPath: "/nix/store/old" });
    assert.deepEqual(failure.properties.tracked, { readError: "" });
    assert.equal(failure.properties.systemPath, undefined);
  });

  it("removes with the properties a 0.1.0 build provider passes: none", async () => {
    const { impl, seen } = recordingImpl();
    const engine = engineFacing(impl, groupedCodec(BUILD_GROUPS));
    await (engine.remove as (id?: string, props?: Record<string, unknown>) => Promise<void>)();
    assert.deepEqual(seen, [{ removed: undefined, props: {} }]);
  });
});
