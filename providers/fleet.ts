/**
 * Wires the planned hosts into resources: one FleetBuild, which builds every host at once; then
 * one NixosHost per host, wave by wave (lib/inventory/waves.ts), which activates what was built
 * for it. The hosts of the first wave depend on the FleetBuild, so no host is disrupted before
 * every build has succeeded. The hosts of
 * a wave do not depend on each other, so the engine rolls them out at once; each host of a later
 * wave depends on every host of the wave before, so a wave starts only once the one before has
 * finished, and a failure stops the rollout before the next wave (the engine lets the steps
 * under way finish). Waves of one host are a chain.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Waves } from "../lib/inventory/waves";
import { fileHashes, stagingDirFor } from "../lib/nixos/staging";
import type { HostOutputs } from "../lib/rollout/outputs";
import type { HostSpec } from "../lib/rollout/spec";
import { FleetBuild, type HostBuildArgs } from "./fleetBuild";
import { splitSharedFiles } from "./fleetBuildProps";
import { NixosHost } from "./nixosHost";

/** Per-host outputs exported by the stack: what the host runs and what its last rollout did. */
export type HostExport = pulumi.Output<HostOutputs>;

/**
 * What other resources the fleet is wired to (providers/commands.ts: bootstraps and rollout
 * hooks). Everything is optional: without it the fleet is builds and hosts only.
 */
export interface FleetWiring {
  /** Per host: a host key to pin instead of the inventory's (the generated key of a bootstrapped host). */
  readonly hostKeys?: ReadonlyMap<string, pulumi.Input<string>>;
  /** Per host: what its build waits for (its bootstrap); the FleetBuild waits for all of them. */
  readonly buildDependsOn?: ReadonlyMap<string, readonly pulumi.Resource[]>;
  /** Declared once the FleetBuild is; the first wave waits for what it returns. */
  readonly beforeFirstWave?: (build: FleetBuild) => pulumi.Resource[];
  /** Declared once every host is. */
  readonly afterLastWave?: (hosts: readonly NixosHost[], build: FleetBuild) => void;
}

/** Waves of one host each, in the order given: the rollout one host at a time. */
export function oneByOne(specs: readonly HostSpec[]): string[][] {
  return specs.map((s) => [s.name]);
}

/** Throws unless `waves` name every host of `specs` exactly once and nothing else. */
function checkWaves(specs: readonly HostSpec[], waves: Waves): void {
  const names = new Set(specs.map((s) => s.name));
  const seen = new Set<string>();
  for (const name of waves.flat()) {
    if (!names.has(name)) throw new Error(`the rollout waves name ${name}, which is not a planned host`);
    if (seen.has(name)) throw new Error(`the rollout waves name ${name} twice`);
    seen.add(name);
  }
  const missing = [...names].filter((n) => !seen.has(n));
  if (missing.length > 0) throw new Error(`the rollout waves leave out ${missing.join(", ")}`);
}

/** One host's build: its access, its rendered files and where they are staged. */
function buildOf(spec: HostSpec, hostKey: pulumi.Input<string>): HostBuildArgs {
  return {
    address: spec.address,
    port: spec.port,
    user: spec.user,
    hostKey,
    trustOnFirstUse: spec.trustOnFirstUse,
    files: spec.files,
    stagingDir: stagingDirFor(spec.files, spec.channel, spec.flake),
    ...(spec.channel ? { channel: spec.channel } : {}),
    ...(spec.flake ? { flake: spec.flake } : {}),
    timeouts: spec.timeouts,
  };
}

/**
 * The fleet's build, named `fleet`: every host's, waiting for what any host's build waits for.
 * The files every host renders alike are held once (fleetBuildProps.ts splitSharedFiles).
 */
function fleetBuildOf(specs: readonly HostSpec[], hostKeyOf: (s: HostSpec) => pulumi.Input<string>, opts: pulumi.CustomResourceOptions | undefined, wiring: FleetWiring): FleetBuild {
  const waitFor = [...(wiring.buildDependsOn?.values() ?? [])].flat();
  const { shared, own } = splitSharedFiles(Object.fromEntries(specs.map((s) => [s.name, s.files])));
  return new FleetBuild(
    "fleet",
    {
      hosts: Object.fromEntries(specs.map((s) => [s.name, { ...buildOf(s, hostKeyOf(s)), files: own[s.name] }])),
      sharedFiles: shared,
      sshPrivateKeys: Object.fromEntries(specs.map((s) => [s.name, s.sshPrivateKey])),
    },
    waitFor.length > 0 ? { ...opts, dependsOn: waitFor } : opts,
  );
}

/**
 * Creates the fleet's build, then one host resource per host, wave by wave (the hosts in the
 * returned list follow the waves): the first wave depends on the build, each later one on every
 * host of the wave before it. The rendered files go to the build only; a host keeps their hashes.
 * `wiring` adds what the inventory runs around them (FleetWiring).
 */
export function rollOutFleet(specs: readonly HostSpec[], waves: Waves = oneByOne(specs), opts?: pulumi.CustomResourceOptions, wiring: FleetWiring = {}): NixosHost[] {
  checkWaves(specs, waves);
  const byName = new Map(specs.map((s) => [s.name, s]));
  const hostKeyOf = (s: HostSpec): pulumi.Input<string> => wiring.hostKeys?.get(s.name) ?? s.hostKey;
  const build = fleetBuildOf(specs, hostKeyOf, opts, wiring);
  const hosts: NixosHost[] = [];
  let before: pulumi.Resource[] = [build, ...(wiring.beforeFirstWave?.(build) ?? [])];
  for (const wave of waves) {
    const current = wave.map((name) => {
      const spec = byName.get(name) as HostSpec;
      return new NixosHost(
        spec.name,
        {
          ...spec,
          hostKey: hostKeyOf(spec),
          files: {},
          staged: { dir: stagingDirFor(spec.files, spec.channel, spec.flake), system: build.systemOf(name), fileHashes: fileHashes(spec.files) },
          sshPrivateKey: pulumi.secret(spec.sshPrivateKey),
          secretFiles: pulumi.secret(spec.secretFiles),
          kubernetes: spec.kubernetes ? pulumi.secret(spec.kubernetes) : undefined,
          channel: spec.channel,
          flake: spec.flake,
        },
        { ...opts, dependsOn: before },
      );
    });
    hosts.push(...current);
    before = current;
  }
  wiring.afterLastWave?.(hosts, build);
  return hosts;
}

/** The stack outputs of each host, keyed by host name; `waves` are those rollOutFleet was given. */
export function hostExports(hosts: readonly NixosHost[], waves: Waves): Record<string, HostExport> {
  const names = waves.flat();
  const out: Record<string, HostExport> = {};
  hosts.forEach((h, i) => {
    out[names[i]] = h.status;
  });
  return out;
}
