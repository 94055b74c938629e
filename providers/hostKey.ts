/**
 * GeneratedHostKey: the SSH host key of a machine that is not installed yet, as a Pulumi
 * dynamic resource. Generated once (providers/hostKeyImpl.ts), it lives in the stack's state,
 * its private half encrypted as a secret; the bootstrap installs it and the rollout pins it, so
 * the first connection to the new system already checks its key.
 */
import * as pulumi from "@pulumi/pulumi";
import { projectLoader } from "./bootstrap";
import { writer } from "./loader";

/** What this project records as the writer of the state it writes (provenance.ts has the rule). */
const WRITTEN_BY = writer();

/** Kept tiny as the other providers are (nixosHost.ts says why): each function loads the implementation and forwards. */
export const provider: pulumi.dynamic.ResourceProvider = {
  create: (inputs) => load().create(inputs),
  diff: (id, olds, news) => load(olds).diff(id, olds, news),
  read: (id, props) => load().read(id, props),
};

/** The implementation of the project being run, which must be allowed to act on the state (loader.ts). */
function load(olds?: Record<string, unknown>): typeof import("./hostKeyImpl") {
  return projectLoader().hostKeyImplementation(WRITTEN_BY, olds);
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
