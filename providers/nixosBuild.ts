/**
 * NixosBuild: the build of one host's configuration ahead of its activation, as a Pulumi
 * dynamic resource. Its create/update stages the rendered files on the host (never in
 * /etc/nixos), builds the system there and keeps it from garbage collection; its output
 * `system` is what the host's NixosHost activates. Builds depend on nothing, so the engine runs
 * them all at once.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BuildSpec } from "../lib/rollout/spec";
import { projectLoader } from "./bootstrap";
import type { Implementation } from "./engine";
import { BUILD_SECRET_PROPS } from "./buildProps";
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
  return projectLoader().buildImplementation(WRITTEN_BY, olds);
}

/** Inputs of a NixosBuild: a BuildSpec whose fields may be outputs of other resources. */
export type NixosBuildArgs = { readonly [K in keyof BuildSpec]: pulumi.Input<BuildSpec[K]> };

/** The build of one host; it changes nothing the host runs. Its settings are grouped as `ssh` and `build` (wire.ts says why). */
export class NixosBuild extends pulumi.dynamic.Resource {
  /** Store path of the system built from the staged configuration. */
  declare readonly system: pulumi.Output<string>;
  /** The host key trusted on first use. */
  declare readonly pinnedHostKey: pulumi.Output<string>;

  constructor(name: string, args: NixosBuildArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...toWire(BUILD_GROUPS, args), system: undefined, pinnedHostKey: undefined }, {
      ...opts,
      additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...BUILD_SECRET_PROPS],
    }, "nixos-fleet", "NixosBuild");
  }
}
