/**
 * GeneratedHostKey: the SSH host key of a machine that is not installed yet, as a Pulumi
 * dynamic resource. Generated once (providers/hostKeyImpl.ts), it lives in the stack's state,
 * its private half encrypted as a secret; the bootstrap installs it and the rollout pins it, so
 * the first connection to the new system already checks its key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** Absolute path of the compiled implementation, captured when the provider is serialized. */
const implModule = require.resolve("./hostKeyImpl");

/** Kept tiny as the other providers are: each function loads the implementation and forwards. */
const provider: pulumi.dynamic.ResourceProvider = {
  create: (inputs) => load().create(inputs),
  diff: (id, olds, news) => load().diff(id, olds, news),
  read: (id, props) => load().read(id, props),
};

/** Finds the implementation where it was at serialization, or in the current checkout's dist/. */
function load(): typeof import("./hostKeyImpl") {
  const candidates = [implModule, path.join(process.cwd(), "dist", "providers", "hostKeyImpl.js")];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`nixos-fleet: host key provider implementation not found (looked at ${candidates.join(", ")}); run \`npm run build\` first`);
  return require(found);
}

/** The outputs kept secret in the state. */
export const HOST_KEY_SECRET_OUTPUTS = ["privateKey"] as const;

/** The generated SSH host key of one host. */
export class GeneratedHostKey extends pulumi.dynamic.Resource {
  /** `ssh-ed25519 AAAA…`: what the rollout pins. */
  declare readonly publicKey: pulumi.Output<string>;
  /** The OpenSSH private key; a secret. */
  declare readonly privateKey: pulumi.Output<string>;

  constructor(name: string, args: { host: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, publicKey: undefined, privateKey: undefined }, {
      ...opts,
      additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...HOST_KEY_SECRET_OUTPUTS],
    }, "nixos-fleet", "GeneratedHostKey");
  }
}
