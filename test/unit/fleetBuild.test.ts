/**
 * The FleetBuild's pure decisions (providers/fleetBuildProps.ts): which hosts an update builds,
 * its diff, what is recorded when some builds fail; the files every host renders alike, held
 * once, and state written by 0.3.0 that held them per host; how its properties cross the engine; how a
 * host judges its build while a preview does not know the FleetBuild's outputs yet; and what
 * state written by 0.2.0 (a NixosBuild per host) gets from this version.
 */
import * as assert from "node:assert/strict";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { fileHashes, stagingDirFor } from "../../lib/nixos/staging";
import { engineFacing, groupedByHost } from "../../providers/engine";
import { buildErrors, buildSpecOf, diffFleetBuild, type FleetBuildProps, type HostBuild, planBuilds, recordedBuilds, splitSharedFiles } from "../../providers/fleetBuildProps";
import { buildImplementation, writer } from "../../providers/loader";
import { UNKNOWN } from "../../providers/props";
import { diffHost } from "../../providers/state";
import { BUILD_GROUPS } from "../../providers/wire";
import { testSpec } from "../fakes/specs";

function hostBuild(name: string, conf = `{ networking.hostName = "${name}"; }\n`): HostBuild {
  const s = testSpec(name, { files: { "configuration.nix": conf } });
  return { address: s.address, port: s.port, user: s.user, hostKey: s.hostKey, trustOnFirstUse: s.trustOnFirstUse, files: s.files, stagingDir: stagingDirFor(s.files), timeouts: s.timeouts };
}

function fleet(hosts: Record<string, HostBuild>, systems?: Record<string, string>): FleetBuildProps {
  const keys = Object.fromEntries(Object.keys(hosts).map((n) => [n, `key-of-${n}`]));
  return { hosts, sshPrivateKeys: keys, ...(systems ? { systems, pinnedHostKeys: Object.fromEntries(Object.keys(hosts).map((n) => [n, ""])) } : {}) };
}

const built = fleet({ srv1: hostBuild("srv1"), srv2: hostBuild("srv2"), srv3: hostBuild("srv3") }, { srv1: "/nix/store/s1", srv2: "/nix/store/s2", srv3: "/nix/store/s3" });

describe("the FleetBuild's decisions", () => {
  it("builds every host of a new fleet, and on an update only the hosts whose files, channel or flake changed, or whose build is gone", () => {
    assert.deepEqual([...planBuilds(undefined, built).values()].map((s) => s.kind), ["build", "build", "build"]);
    const news = fleet({ srv1: hostBuild("srv1"), srv2: hostBuild("srv2", "{ }\n"), srv3: { ...hostBuild("srv3"), port: 2222 }, srv4: hostBuild("srv4") });
    const plan = planBuilds({ ...built, systems: { ...built.systems, srv1: "" } }, news);
    assert.deepEqual(Object.fromEntries(plan), {
      srv1: { kind: "build", why: "the last build is gone from the host (found by a refresh)" },
      srv2: { kind: "build", why: "files and stagingDir changed" },
      srv3: { kind: "keep" },
      srv4: { kind: "build", why: "a new host of the fleet" },
    });
  });

  it("shows no change when nothing changed, and an update for a changed setting, key, added or removed host or lost build; never a replace", () => {
    const same = fleet({ srv1: hostBuild("srv1"), srv2: hostBuild("srv2"), srv3: hostBuild("srv3") });
    assert.deepEqual(diffFleetBuild(built, same), { changes: false, replaces: [], deleteBeforeReplace: false });
    const changed: FleetBuildProps[] = [
      { ...same, hosts: { ...same.hosts, srv2: { ...hostBuild("srv2"), port: 2222 } } },
      { ...same, sshPrivateKeys: { ...same.sshPrivateKeys, srv1: "rotated" } },
      fleet({ ...same.hosts, srv4: hostBuild("srv4") }),
      fleet({ srv1: hostBuild("srv1"), srv2: hostBuild("srv2") }),
    ];
    for (const news of changed) assert.deepEqual(diffFleetBuild(built, news), { changes: true, replaces: [], deleteBeforeReplace: false });
    assert.equal(diffFleetBuild({ ...built, systems: { ...built.systems, srv3: "" } }, same).changes, true);
  });

  it("records the hosts built and kept with their new inputs, a failed host as it was before (a new one not at all), and drops removed hosts", () => {
    const news = fleet({ srv1: hostBuild("srv1", "{ a }\n"), srv2: hostBuild("srv2", "{ b }\n"), srv3: { ...hostBuild("srv3"), port: 2222 }, srv4: hostBuild("srv4") });
    const results = new Map([
      ["srv1", { system: "/nix/store/s1-new", pinnedHostKey: "" }],
      ["srv2", { error: new Error("srv2: build failed: nope") }],
      ["srv4", { error: new Error("srv4: connect failed: refused") }],
    ]);
    const recorded = recordedBuilds(built, { ...news, sshPrivateKeys: { ...news.sshPrivateKeys, srv2: "rotated" } }, results);
    assert.deepEqual(Object.keys(recorded.hosts), ["srv1", "srv2", "srv3"]);
    assert.deepEqual(recorded.hosts.srv1, news.hosts.srv1);
    assert.deepEqual(recorded.hosts.srv2, built.hosts.srv2, "the failed host keeps its earlier inputs, so the next diff sees its change");
    assert.deepEqual(recorded.hosts.srv3, news.hosts.srv3, "a kept host records its new settings");
    assert.deepEqual(recorded.systems, { srv1: "/nix/store/s1-new", srv2: "/nix/store/s2", srv3: "/nix/store/s3" });
    assert.equal(recorded.sshPrivateKeys.srv2, "key-of-srv2", "the failed host keeps the key it was built with");
    assert.equal(diffFleetBuild(recorded, news).changes, true);
    assert.deepEqual([...planBuilds(recorded, news)].filter(([, s]) => s.kind === "build").map(([n]) => n), ["srv2", "srv4"], "the next run builds only the failed hosts");
    assert.deepEqual(buildErrors(results).map((e) => e.host), ["srv2", "srv4"]);
  });

  it("holds the files every host renders alike once, and gives each host every file it renders", () => {
    const module = "{ services.openssh.enable = true; }\n";
    const files = {
      srv1: { "configuration.nix": "{ a }\n", "fleet/base.nix": module, "fleet/k3s.nix": "{ k }\n", "fleet/only1.nix": "{ }\n" },
      srv2: { "configuration.nix": "{ b }\n", "fleet/base.nix": module, "fleet/k3s.nix": "{ k }\n" },
      srv3: { "configuration.nix": "{ c }\n", "fleet/base.nix": module, "fleet/k3s.nix": "{ k, other }\n" },
    };
    const { shared, own } = splitSharedFiles(files);
    assert.deepEqual(shared, { "fleet/base.nix": module }, "only what every host has with the same text");
    assert.deepEqual(own, {
      srv1: { "configuration.nix": "{ a }\n", "fleet/k3s.nix": "{ k }\n", "fleet/only1.nix": "{ }\n" },
      srv2: { "configuration.nix": "{ b }\n", "fleet/k3s.nix": "{ k }\n" },
      srv3: { "configuration.nix": "{ c }\n", "fleet/k3s.nix": "{ k, other }\n" },
    });
    assert.deepEqual(splitSharedFiles({ srv1: files.srv1 }), { shared: {}, own: { srv1: files.srv1 } }, "one host shares nothing");
    const props: FleetBuildProps = { ...fleet({ srv1: { ...hostBuild("srv1"), files: own.srv1 } }), sharedFiles: shared };
    assert.deepEqual(buildSpecOf(props, "srv1").files, files.srv1);
    assert.equal(buildSpecOf(props, "srv1").sshPrivateKey, "key-of-srv1");
    assert.throws(() => buildSpecOf(props, "srv9"), /srv9 is no host of this FleetBuild \(srv1\)/);
  });

  it("builds every host again when a shared file changes, and none when 0.3.0's state holds the same files per host", () => {
    const module = "{ services.openssh.enable = true; }\n";
    const full = (name: string, text = module) => {
      const h = hostBuild(name);
      const files = { ...h.files, "fleet/base.nix": text };
      return { ...h, files, stagingDir: stagingDirFor(files) };
    };
    const split = (hosts: Record<string, HostBuild>, systems?: Record<string, string>): FleetBuildProps => {
      const { shared, own } = splitSharedFiles(Object.fromEntries(Object.entries(hosts).map(([n, h]) => [n, h.files])));
      const f = fleet(Object.fromEntries(Object.entries(hosts).map(([n, h]) => [n, { ...h, files: own[n] }])), systems);
      return { ...f, sharedFiles: shared };
    };
    const systems = { srv1: "/nix/store/s1", srv2: "/nix/store/s2" };
    // State written by 0.3.0: every host holds all its files, and there is no sharedFiles.
    const written030 = fleet({ srv1: full("srv1"), srv2: full("srv2") }, systems);
    const now = split({ srv1: full("srv1"), srv2: full("srv2") });
    assert.deepEqual(now.sharedFiles, { "fleet/base.nix": module });
    assert.deepEqual([...planBuilds(written030, now).values()], [{ kind: "keep" }, { kind: "keep" }], "the same files, held otherwise: nothing to build");
    assert.equal(diffFleetBuild(written030, now).changes, true, "an update that records the new shape, building nothing");
    const recorded = recordedBuilds(written030, now, new Map());
    assert.deepEqual(recorded.sharedFiles, now.sharedFiles);
    assert.deepEqual(recorded.systems, systems);
    assert.equal(diffFleetBuild(recorded, now).changes, false);
    // A change of the shared module is a change of every host.
    const changed = split({ srv1: full("srv1", "{ }\n"), srv2: full("srv2", "{ }\n") });
    assert.equal(diffFleetBuild(recorded, changed).changes, true);
    assert.deepEqual([...planBuilds(recorded, changed).values()], [
      { kind: "build", why: "files and stagingDir changed" },
      { kind: "build", why: "files and stagingDir changed" },
    ]);
    // srv2's build fails: it keeps, as its own, every file it was built from, and is built again next time.
    const failedOne = recordedBuilds(recorded, changed, new Map<string, { system: string; pinnedHostKey: string } | { error: Error }>([
      ["srv1", { system: "/nix/store/s1-new", pinnedHostKey: "" }],
      ["srv2", { error: new Error("srv2: build failed") }],
    ]));
    assert.deepEqual(failedOne.sharedFiles, changed.sharedFiles);
    assert.deepEqual(failedOne.hosts.srv2.files, full("srv2").files);
    assert.deepEqual(buildSpecOf(failedOne, "srv2").files, full("srv2").files, "what srv2's recorded system was built from");
    assert.deepEqual([...planBuilds(failedOne, changed)].filter(([, step]) => step.kind === "build").map(([n]) => n), ["srv2"]);
  });

  it("crosses the engine with each host's settings grouped, and back", async () => {
    const seen: FleetBuildProps[] = [];
    const engine = engineFacing<FleetBuildProps>(
      {
        diff: async (_id, _olds, news) => {
          seen.push(news);
          return { changes: false };
        },
        create: async (inputs) => ({ id: "fleet", outs: { ...inputs, systems: { srv1: "/nix/store/s1" } } }),
        update: async (_id, _olds, news) => ({ outs: news }),
        read: async (id, props) => ({ id, props }),
        remove: async () => undefined,
      },
      groupedByHost(BUILD_GROUPS),
    );
    const flat = { ...fleet({ srv1: hostBuild("srv1") }), sharedFiles: { "fleet/base.nix": "{ }\n" } };
    const { outs } = await engine.create(groupedByHost<FleetBuildProps>(BUILD_GROUPS).wire(flat));
    const wired = outs as { hosts: Record<string, Record<string, unknown>>; systems: Record<string, string>; sharedFiles: unknown };
    assert.deepEqual(wired.sharedFiles, flat.sharedFiles, "the shared files as they are, beside the hosts");
    assert.deepEqual(Object.keys(wired.hosts.srv1).sort(), ["build", "files", "ssh"]);
    assert.equal((wired.hosts.srv1.ssh as { address: string }).address, "127.0.0.1");
    assert.deepEqual(wired.systems, { srv1: "/nix/store/s1" });
    assert.equal((await engine.diff("fleet", wired, wired)).changes, false, "its shape is current");
    assert.deepEqual(seen[0].hosts.srv1, flat.hosts.srv1);
    assert.deepEqual(seen[0].sharedFiles, flat.sharedFiles);
  });
});

describe("a host's build while a preview does not know the FleetBuild's outputs", () => {
  const spec = testSpec("srv1");
  const staged = { dir: stagingDirFor(spec.files), system: "/nix/store/s1", fileHashes: fileHashes(spec.files) };
  const olds = { ...spec, files: {}, staged };

  it("uses the engine's own marker of an unknown value", () => {
    assert.equal(UNKNOWN, unknownValue);
  });

  it("is the same build when its staged files are those recorded, and a change when they are not or once the system is known to differ", () => {
    assert.equal(diffHost(olds, { ...olds, staged: { ...staged, system: UNKNOWN } }).changes, false);
    const other = { "configuration.nix": "{ }\n" };
    assert.equal(diffHost(olds, { ...olds, staged: { dir: stagingDirFor(other), system: UNKNOWN, fileHashes: fileHashes(other) } }).changes, true);
    assert.equal(diffHost(olds, { ...olds, staged: { ...staged, system: "/nix/store/s1-other" } }).changes, true);
    assert.equal(diffHost({ ...spec }, { ...olds, staged: { ...staged, system: UNKNOWN } }).changes, true, "a host that built for itself before");
  });
});

describe("state written by 0.2.0: a NixosBuild per host", () => {
  const legacy = () => buildImplementation(writer());

  it("is deleted leaving its host alone, and kept as it is by a refresh", async () => {
    await legacy().remove("srv1", { name: "srv1", ssh: { address: "192.0.2.1" } });
    const read = await legacy().read("srv1", { name: "srv1", system: "/nix/store/s1" });
    assert.deepEqual(read, { id: "srv1", props: { name: "srv1", system: "/nix/store/s1" } });
  });

  it("is never built again by this version, which says how to move on", async () => {
    await assert.rejects(legacy().create({ name: "srv1" }), /NixosBuild is no longer declared since 0\.3\.0[^]*run pulumi up/);
    await assert.rejects(legacy().update("srv1", {}, { name: "srv1" }), /no longer declared/);
  });
});
