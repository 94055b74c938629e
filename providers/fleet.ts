/**
 * Wires the planned hosts into resources: one NixosBuild per host, which depend on nothing, so
 * the engine builds every host at once; then one NixosHost per host, wave by wave
 * (lib/inventory/waves.ts), which activates what its build built. The hosts of the first wave
 * depend on every build, so no host is disrupted before every build has succeeded. The hosts of
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
import { NixosBuild } from "./nixosBuild";
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
  /** Per host: what its build waits for (its bootstrap). */
  readonly buildDependsOn?: ReadonlyMap<string, readonly pulumi.Resource[]>;
  /** Declared once every build is; the first wave waits for what it returns. */
  readonly beforeFirstWave?: (builds: ReadonlyMap<string, NixosBuild>) => pulumi.Resource[];
  /** Declared once every host is. */
  readonly afterLastWave?: (hosts: readonly NixosHost[], builds: ReadonlyMap<string, NixosBuild>) => void;
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

/** The build of one host: its access, its rendered files and where they are staged. */
function buildOf(spec: HostSpec, hostKey: pulumi.Input<string>, opts?: pulumi.CustomResourceOptions): NixosBuild {
  return new NixosBuild(
    spec.name,
    {
      name: spec.name,
      address: spec.address,
      port: spec.port,
      user: spec.user,
      hostKey,
      trustOnFirstUse: spec.trustOnFirstUse,
      sshPrivateKey: pulumi.secret(spec.sshPrivateKey),
      files: spec.files,
      stagingDir: stagingDirFor(spec.files, spec.channel, spec.flake),
      ...(spec.channel ? { channel: spec.channel } : {}),
      ...(spec.flake ? { flake: spec.flake } : {}),
      timeouts: spec.timeouts,
    },
    opts,
  );
}

/**
 * Creates the builds, then one host resource per host, wave by wave (the hosts in the returned
 * list follow the waves): the first wave depends on every build, each later one on every host
 * of the wave before it. The rendered files go to the builds only; a host keeps their hashes.
 * `wiring` adds what the inventory runs around them (FleetWiring).
 */
export function rollOutFleet(specs: readonly HostSpec[], waves: Waves = oneByOne(specs), opts?: pulumi.CustomResourceOptions, wiring: FleetWiring = {}): NixosHost[] {
  checkWaves(specs, waves);
  const byName = new Map(specs.map((s) => [s.name, s]));
  const hostKeyOf = (s: HostSpec): pulumi.Input<string> => wiring.hostKeys?.get(s.name) ?? s.hostKey;
  const builds = new Map(
    specs.map((s) => {
      const waitFor = wiring.buildDependsOn?.get(s.name);
      return [s.name, buildOf(s, hostKeyOf(s), waitFor ? { ...opts, dependsOn: [...waitFor] } : opts)];
    }),
  );
  const hosts: NixosHost[] = [];
  let before: pulumi.Resource[] = [...builds.values(), ...(wiring.beforeFirstWave?.(builds) ?? [])];
  for (const wave of waves) {
    const current = wave.map((name) => {
      const spec = byName.get(name) as HostSpec;
      const build = builds.get(name) as NixosBuild;
      return new NixosHost(
        spec.name,
        {
          ...spec,
          hostKey: hostKeyOf(spec),
          files: {},
          staged: { dir: stagingDirFor(spec.files, spec.channel, spec.flake), system: build.system, fileHashes: fileHashes(spec.files) },
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
  wiring.afterLastWave?.(hosts, builds);
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
