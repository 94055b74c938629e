/**
 * What the inventory asks to run besides the rollout itself, as pure data: the rollout hooks
 * (rollout.before / rollout.after, run over SSH on a host of the inventory) and the bootstraps
 * (nixos-anywhere from the machine running Pulumi). providers/commands.ts declares them as
 * @pulumi/command resources; nothing is declared when the plan is empty.
 */
import { createHash } from "node:crypto";
import { BOOTSTRAP_SYSTEM_HOST_PATHS } from "../inventory/defaults";
import { drainPolicyOf, nodeNameOf, timeoutsOf } from "../inventory/resolve";
import type { Inventory } from "../inventory/types";
import type { DrainPolicy, HostSpec, Timeouts } from "../rollout/spec";

/** Before the first host is disrupted, or after the last one passed its gates. */
export type HookPhase = "before" | "after";
export const HOOK_PHASES: readonly HookPhase[] = ["before", "after"];

/** One command around the rollout. */
export interface RolloutHook {
  readonly phase: HookPhase;
  /** Its place in rollout.before / rollout.after: resources are named after it. */
  readonly index: number;
  /** The inventory host the command runs on. */
  readonly host: string;
  readonly command: string;
}

/** Where nixos-anywhere takes the new system from; paths are relative to the project folder. */
export type InstallSource =
  | { readonly kind: "flake"; readonly flake: string }
  | { readonly kind: "configuration"; readonly configuration: string; readonly disko: string };

/** The install of one host by nixos-anywhere, and the precautions before it. */
export interface BootstrapPlan {
  readonly host: string;
  /** The Node the old system runs as, drained and removed first; absent without Kubernetes. */
  readonly nodeName?: string;
  readonly source: InstallSource;
  /** hostPath folders whose data may go: the system's own, then the inventory's discardHostPaths. */
  readonly discardHostPaths: readonly string[];
  readonly drain: DrainPolicy;
  readonly timeouts: Timeouts;
}

/** Every command resource the inventory asks for. */
export interface CommandPlan {
  readonly hooks: Readonly<Record<HookPhase, readonly RolloutHook[]>>;
  readonly bootstraps: readonly BootstrapPlan[];
}

/** The commands of a valid inventory (its checks already refused hooks on unknown hosts). */
export function planCommands(inv: Inventory): CommandPlan {
  const hooksOf = (phase: HookPhase): RolloutHook[] => inv.rollout[phase].map((h, index) => ({ phase, index, host: h.host, command: h.command }));
  const bootstraps = inv.hosts.flatMap((h): BootstrapPlan[] => {
    if (h.bootstrap === undefined) return [];
    const a = h.bootstrap.nixosAnywhere;
    const source: InstallSource =
      a.flake !== undefined ? { kind: "flake", flake: a.flake } : { kind: "configuration", configuration: a.configuration ?? "", disko: a.disko ?? "" };
    return [
      {
        host: h.name,
        ...(inv.kubernetes.enabled ? { nodeName: nodeNameOf(h) } : {}),
        source,
        discardHostPaths: [...BOOTSTRAP_SYSTEM_HOST_PATHS, ...h.bootstrap.discardHostPaths],
        drain: drainPolicyOf(inv, h),
        timeouts: timeoutsOf(inv, h),
      },
    ];
  });
  return { hooks: { before: hooksOf("before"), after: hooksOf("after") }, bootstraps };
}

/** Whether the plan declares any command resource (the @pulumi/command plugin is needed only then). */
export function wantsCommands(plan: CommandPlan): boolean {
  return plan.hooks.before.length > 0 || plan.hooks.after.length > 0 || plan.bootstraps.length > 0;
}

const digest = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

/**
 * One value that changes whenever a host's rollout inputs change: the rendered files, the
 * secret files, the settings of its activation, drain and gates. The hooks take it as their
 * trigger, so they run again on every rollout that changes a host and not otherwise. The
 * secrets enter only through a hash of the whole host, never as text.
 */
export function rolloutFingerprint(specs: readonly HostSpec[]): string {
  const hosts = [...specs]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => {
      const { sshPrivateKey: _login, kubernetes, secretFiles, ...rest } = s;
      return { ...rest, secretFiles: digest(secretFiles), kubernetes: kubernetes === undefined ? null : digest(kubernetes) };
    });
  return digest(hosts);
}
