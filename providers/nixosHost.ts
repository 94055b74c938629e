/**
 * NixosHost: one NixOS machine of the fleet as a Pulumi dynamic resource. Creating or
 * updating it rolls the host out (lib/rollout/apply.ts): with `staged`, it lands and activates
 * the system its FleetBuild built ahead; without, it builds the system itself first. Refreshing
 * reads it back; deleting it drains and removes its Kubernetes Node without touching the machine.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostOutputs, TrackedOutputs } from "../lib/rollout/outputs";
import type { HostSpec, StagedBuild } from "../lib/rollout/spec";
import { projectLoader } from "./bootstrap";
import type { Implementation } from "./engine";
import { SECRET_PROPS } from "./props";
import { writer } from "./loader";
import { HOST_GROUPS, toWire } from "./wire";

/** What this project records as the writer of the state it writes (provenance.ts has the rule). */
const WRITTEN_BY = writer();

/**
 * Kept tiny on purpose: Pulumi serializes these functions into the state, so each one only
 * loads the implementation module and forwards to it. Exported for the test of that text.
 */
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
  return projectLoader().hostImplementation(WRITTEN_BY, olds);
}

/**
 * Inputs of a NixosHost: a HostSpec whose fields may be outputs of other resources; the fields of
 * `staged` each may be one (the built system is an output of the FleetBuild, the rest is known).
 */
export type NixosHostArgs = { readonly [K in Exclude<keyof HostSpec, "staged">]: pulumi.Input<HostSpec[K]> } & {
  readonly staged?: { readonly [K in keyof StagedBuild]: pulumi.Input<StagedBuild[K]> };
};

/**
 * One NixOS host; its rollout happens in the engine's create/update. Its properties are grouped
 * (wire.ts says why): `ssh`, `nixos` and `rollout` hold the settings, the secrets stay apart,
 * and the outputs are `status` and `tracked`.
 */
export class NixosHost extends pulumi.dynamic.Resource {
  /** What the host runs and what the last rollout did: system, generation, kernel, reboot and its reason, what changed. */
  declare readonly status: pulumi.Output<HostOutputs>;
  /**
   * What the provider keeps to judge the next run: the system the last successful rollout left
   * running (a refresh compares it with status.systemPath), the host key trusted on first use,
   * and why the host could not be read after a failed rollout ("" when status is what it runs).
   */
  declare readonly tracked: pulumi.Output<TrackedOutputs>;

  constructor(name: string, args: NixosHostArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs = toWire(HOST_GROUPS, args);
    super(provider, name, { ...inputs, status: undefined, tracked: undefined }, {
      ...opts,
      additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...SECRET_PROPS],
    }, "nixos-fleet", "NixosHost");
  }
}
