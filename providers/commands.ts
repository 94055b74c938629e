/**
 * The @pulumi/command resources the inventory asks for, wired around the rollout
 * (providers/fleet.ts):
 *
 * - a GeneratedHostKey and a `command.local.Command` per bootstrapped host: nixos-anywhere,
 *   run once, on create, from the machine running Pulumi; the FleetBuild waits for it, and the
 *   bootstraps follow one another (each drains an old Node first);
 * - a `command.remote.Command` per rollout hook: `before` hooks wait for the FleetBuild and the
 *   first wave waits for them; `after` hooks wait for every host. Both take the fleet's
 *   rollout fingerprint as trigger, so they run again on every rollout that changes a host.
 *
 * Nothing here is declared for an inventory without hooks and bootstraps, so such a stack never
 * needs the command plugin.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BOOTSTRAP_ENV, bootstrapScript } from "../lib/commands/bootstrapScript";
import { rolloutFingerprint, type CommandPlan, type RolloutHook } from "../lib/commands/plan";
import type { HostSpec } from "../lib/rollout/spec";
import type { FleetWiring } from "./fleet";
import { GeneratedHostKey } from "./hostKey";
import type { FleetBuild } from "./fleetBuild";
import type { NixosHost } from "./nixosHost";

/** What a bootstrap's update runs: the machine is installed, and only a replace installs it again. */
function installedAlready(host: string): string {
  return `echo '${host} was installed by an earlier run; its settings changed, but a bootstrap runs only once. To install it again (wiping its disks), run pulumi up --replace with this resource's URN.'`;
}

/** Per bootstrapped host: its generated key and its install, chained one after another. */
function declareBootstraps(plan: CommandPlan, specs: ReadonlyMap<string, HostSpec>, opts?: pulumi.CustomResourceOptions) {
  const hostKeys = new Map<string, GeneratedHostKey>();
  const installs = new Map<string, command.local.Command>();
  let previous: pulumi.Resource[] = [];
  for (const b of plan.bootstraps) {
    const spec = specs.get(b.host);
    if (spec === undefined) throw new Error(`the bootstrap of ${b.host} names no planned host`);
    const key = new GeneratedHostKey(`${b.host}-host-key`, { host: b.host }, opts);
    const environment: Record<string, pulumi.Input<string>> = {
      [BOOTSTRAP_ENV.loginKey]: spec.sshPrivateKey,
      [BOOTSTRAP_ENV.hostKey]: key.privateKey,
      [BOOTSTRAP_ENV.hostKeyPub]: key.publicKey,
      ...(b.nodeName !== undefined && spec.kubernetes !== undefined ? { [BOOTSTRAP_ENV.kubeconfig]: spec.kubernetes.kubeconfig } : {}),
    };
    const install = new command.local.Command(
      `${b.host}-bootstrap`,
      {
        create: bootstrapScript(b, spec),
        update: installedAlready(b.host),
        environment: pulumi.secret(environment),
        interpreter: ["/bin/bash", "-c"],
      },
      { ...opts, dependsOn: previous },
    );
    hostKeys.set(b.host, key);
    installs.set(b.host, install);
    previous = [install];
  }
  return { hostKeys, installs };
}

/** The host key a hook checks: the inventory's, the generated one, or the one its build trusted on first use. */
function hookHostKey(spec: HostSpec, generated: GeneratedHostKey | undefined, build: FleetBuild): pulumi.Input<string> | undefined {
  if (spec.hostKey !== "") return spec.hostKey;
  if (generated !== undefined) return generated.publicKey;
  return build.pinnedHostKeyOf(spec.name);
}

function declareHook(
  hook: RolloutHook,
  spec: HostSpec,
  hostKey: pulumi.Input<string> | undefined,
  trigger: string,
  dependsOn: pulumi.Resource[],
  opts?: pulumi.CustomResourceOptions,
): command.remote.Command {
  return new command.remote.Command(
    `rollout-${hook.phase}-${hook.index}`,
    {
      connection: {
        host: spec.address,
        port: spec.port,
        user: spec.user,
        privateKey: pulumi.secret(spec.sshPrivateKey),
        hostKey,
        perDialTimeout: spec.timeouts.connectSeconds,
        dialErrorLimit: 3,
      },
      create: hook.command,
      triggers: [trigger],
    },
    { ...opts, dependsOn },
  );
}

/**
 * The wiring of the plan's command resources into rollOutFleet. `specs` are the planned hosts
 * (the hooks and bootstraps name them).
 */
export function commandWiring(plan: CommandPlan, specs: readonly HostSpec[], opts?: pulumi.CustomResourceOptions): FleetWiring {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const specOf = (name: string): HostSpec => {
    const spec = byName.get(name);
    if (spec === undefined) throw new Error(`a rollout hook names ${name}, which is not a planned host`);
    return spec;
  };
  const { hostKeys, installs } = declareBootstraps(plan, byName, opts);
  const trigger = rolloutFingerprint(specs);
  const hooks = (phase: "before" | "after", build: FleetBuild, dependsOn: pulumi.Resource[]) =>
    plan.hooks[phase].map((h) => {
      const spec = specOf(h.host);
      return declareHook(h, spec, hookHostKey(spec, hostKeys.get(h.host), build), trigger, dependsOn, opts);
    });
  return {
    hostKeys: new Map([...hostKeys].map(([name, key]) => [name, key.publicKey])),
    buildDependsOn: new Map([...installs].map(([name, install]) => [name, [install]])),
    beforeFirstWave: (build) => hooks("before", build, [build]),
    afterLastWave: (hosts: readonly NixosHost[], build) => {
      hooks("after", build, [...hosts]);
    },
  };
}
