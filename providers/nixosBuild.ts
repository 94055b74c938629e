/**
 * NixosBuild: the build of one host's configuration ahead of its activation, as a Pulumi
 * dynamic resource. Its create/update stages the rendered files on the host (never in
 * /etc/nixos), builds the system there and keeps it from garbage collection; its output
 * `system` is what the host's NixosHost activates. Builds depend on nothing, so the engine runs
 * them all at once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { BuildSpec } from "../lib/rollout/spec";
import { BUILD_SECRET_PROPS } from "./buildProps";

/** Absolute path of the compiled implementation, captured when the provider is serialized. */
const implModule = require.resolve("./buildImpl");

/** Kept tiny on purpose (nixosHost.ts says why): each function loads the implementation and forwards. */
const provider: pulumi.dynamic.ResourceProvider = {
  check: (olds, news) => load().check(olds, news),
  diff: (id, olds, news) => load().diff(id, olds, news),
  create: (inputs) => load().create(inputs),
  update: (id, olds, news) => load().update(id, olds, news),
  read: (id, props) => load().read(id, props),
  delete: () => load().remove(),
};

/** Finds the implementation where it was at serialization, or in the current checkout's dist/. */
function load(): typeof import("./buildImpl") {
  const candidates = [implModule, path.join(process.cwd(), "dist", "providers", "buildImpl.js")];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`nixos-fleet: build provider implementation not found (looked at ${candidates.join(", ")}); run \`npm run build\` first`);
  return require(found);
}

/** Inputs of a NixosBuild: a BuildSpec whose fields may be outputs of other resources. */
export type NixosBuildArgs = { readonly [K in keyof BuildSpec]: pulumi.Input<BuildSpec[K]> };

/** The build of one host; it changes nothing the host runs. */
export class NixosBuild extends pulumi.dynamic.Resource {
  /** Store path of the system built from the staged configuration. */
  declare readonly system: pulumi.Output<string>;
  /** The host key trusted on first use. */
  declare readonly pinnedHostKey: pulumi.Output<string>;

  constructor(name: string, args: NixosBuildArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, system: undefined, pinnedHostKey: undefined }, {
      ...opts,
      additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...BUILD_SECRET_PROPS],
    }, "nixos-fleet", "NixosBuild");
  }
}
