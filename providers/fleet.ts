/**
 * Wires the planned hosts into NixosHost resources, each depending on the one before, so the
 * engine rolls them out one at a time in plan order and a failure stops the rollout there.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostSpec } from "../lib/rollout/spec";
import { NixosHost } from "./nixosHost";

/** Per-host outputs exported by the stack. */
export interface HostExport {
  readonly systemPath: pulumi.Output<string>;
  readonly generation: pulumi.Output<number>;
  readonly bootedKernel: pulumi.Output<string>;
  readonly bootId: pulumi.Output<string>;
  readonly rebooted: pulumi.Output<boolean>;
  readonly rebootedAt: pulumi.Output<string>;
  readonly rebootReason: pulumi.Output<string>;
  readonly pendingReboot: pulumi.Output<boolean>;
}

/** Creates the resources in the order given (the rollout order) and chains them. */
export function rollOutFleet(specs: readonly HostSpec[], opts?: pulumi.CustomResourceOptions): NixosHost[] {
  const hosts: NixosHost[] = [];
  for (const spec of specs) {
    const previous = hosts[hosts.length - 1];
    const host = new NixosHost(
      spec.name,
      {
        ...spec,
        sshPrivateKey: pulumi.secret(spec.sshPrivateKey),
        secretFiles: pulumi.secret(spec.secretFiles),
        kubernetes: spec.kubernetes ? pulumi.secret(spec.kubernetes) : undefined,
      },
      { ...opts, dependsOn: previous ? [previous] : [] },
    );
    hosts.push(host);
  }
  return hosts;
}

/** The stack outputs of each host, keyed by host name. */
export function hostExports(hosts: readonly NixosHost[], specs: readonly HostSpec[]): Record<string, HostExport> {
  const out: Record<string, HostExport> = {};
  hosts.forEach((h, i) => {
    out[specs[i].name] = {
      systemPath: h.systemPath,
      generation: h.generation,
      bootedKernel: h.bootedKernel,
      bootId: h.bootId,
      rebooted: h.rebooted,
      rebootedAt: h.rebootedAt,
      rebootReason: h.rebootReason,
      pendingReboot: h.pendingReboot,
    };
  });
  return out;
}
