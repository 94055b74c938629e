/**
 * FleetBuild: the build of every host's configuration ahead of any activation, as one Pulumi
 * dynamic resource for the fleet. Its create/update stages each host's rendered files on the
 * host (never in /etc/nixos), builds the system there and keeps it from garbage collection,
 * every host at once up to a bound, and rebuilds only the hosts whose configuration changed.
 * Its output `systems` holds, per host, what that host's NixosHost activates.
 *
 * One resource rather than one per host: Pulumi's own cost in a preview is per resource (README
 * "Fleets of hundreds"), and a build per host doubled it. A preview still shows each host's Nix
 * diff, under `hosts.<name>.files`, and the files every host renders alike once, under
 * `sharedFiles`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostBuild } from "./fleetBuildProps";
import { projectLoader } from "./bootstrap";
import type { Implementation } from "./engine";
import { writer } from "./loader";
import { BUILD_GROUPS, toWire } from "./wire";

/** What this project records as the writer of the state it writes (provenance.ts has the rule). */
const WRITTEN_BY = writer();

/** Kept tiny on purpose (nixosHost.ts says why): each function loads the implementation and forwards. Exported for the test of that text. */
export const provider: pulumi.dynamic.ResourceProvider = {
  check: (olds, news) => load(olds).check(olds, news),
  diff: (id, olds, news) => load(olds).diff(id, olds, news),
  create: (inputs) => load().create(inputs),
  update: (id, olds, news) => load(olds).update(id, olds, news),
  read: (id, props) => load().read(id, props),
  delete: (id, props) => load().remove(id, props),
};

/**
 * The implementation of the project being run, not of the one that wrote the state: its loader
 * refuses state this project may not act on (bootstrap.ts and loader.ts say why), the state's
 * own provider and, in a check, diff or update, the recorded state `olds` it is compared with.
 */
function load(olds?: Record<string, unknown>): Implementation<Record<string, unknown>> {
  return projectLoader().fleetBuildImplementation(WRITTEN_BY, olds);
}

/** One host's build inputs, each of which may be an output of another resource (a generated host key). */
export type HostBuildArgs = { readonly [K in keyof HostBuild]: pulumi.Input<HostBuild[K]> };

/** Inputs of a FleetBuild: per host, its build and its login key; the files every host renders alike, once. */
export interface FleetBuildArgs {
  /** Per host, its build; its `files` are its own, beside `sharedFiles`. */
  readonly hosts: Readonly<Record<string, HostBuildArgs>>;
  /** Files every host renders with the same text (fleetBuildProps.ts splitSharedFiles). */
  readonly sharedFiles: Readonly<Record<string, string>>;
  readonly sshPrivateKeys: pulumi.Input<Readonly<Record<string, string>>>;
}

/** The builds of the fleet; they change nothing any host runs. Each host's settings are grouped as `ssh` and `build` (wire.ts says why). */
export class FleetBuild extends pulumi.dynamic.Resource {
  /** Per host, the store path of the system built from its staged configuration. */
  declare readonly systems: pulumi.Output<Record<string, string>>;
  /** Per host, the host key trusted on first use ("" when the inventory pins it). */
  declare readonly pinnedHostKeys: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: FleetBuildArgs, opts?: pulumi.CustomResourceOptions) {
    const hosts = Object.fromEntries(Object.entries(args.hosts).map(([host, build]) => [host, toWire(BUILD_GROUPS, build)]));
    super(provider, name, { hosts, sharedFiles: args.sharedFiles, sshPrivateKeys: pulumi.secret(args.sshPrivateKeys), systems: undefined, pinnedHostKeys: undefined }, {
      ...opts,
      additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "sshPrivateKeys"],
    }, "nixos-fleet", "FleetBuild");
  }

  /** The system built for `host`. */
  systemOf(host: string): pulumi.Output<string> {
    return this.systems.apply((s) => s[host]);
  }

  /** The host key `host` was trusted with on first use ("" when the inventory pins it). */
  pinnedHostKeyOf(host: string): pulumi.Output<string> {
    return this.pinnedHostKeys.apply((k) => k[host] ?? "");
  }
}
