/** The NixosHost resource's outputs beyond its inputs. */
import type { SystemState } from "./remote";

export interface HostOutputs {
  /** Store path of the running system (/run/current-system). */
  readonly systemPath: string;
  /** The system profile's current generation number. */
  readonly generation: number;
  /** Kernel version of the booted system, e.g. "6.6.45". */
  readonly bootedKernel: string;
  readonly bootId: string;
  /** Whether this rollout rebooted the host, when, and why (or why not). */
  readonly rebooted: boolean;
  readonly rebootedAt: string;
  readonly rebootReason: string;
  /** The boot default differs from the booted system's kernel, initrd, modules or parameters. */
  readonly pendingReboot: boolean;
}

/** "6.6.45" from "/nix/store/…-linux-6.6.45/bzImage"; "" when unknown. */
export function kernelVersion(kernelPath: string): string {
  const m = /-linux-([0-9][^/]*)\//.exec(kernelPath);
  return m ? m[1] : "";
}

/** Outputs describing `state` after a rollout. */
export function outputsOf(state: SystemState, reboot: { rebooted: boolean; at?: Date; reason: string }): HostOutputs {
  const b = state.booted;
  const p = state.profile;
  return {
    systemPath: state.current.system,
    generation: state.generation,
    bootedKernel: kernelVersion(b.kernel),
    bootId: state.bootId,
    rebooted: reboot.rebooted,
    rebootedAt: reboot.at ? reboot.at.toISOString() : "",
    rebootReason: reboot.reason,
    pendingReboot:
      b.kernel !== p.kernel || b.initrd !== p.initrd || b.kernelModules !== p.kernelModules || b.kernelParams !== p.kernelParams,
  };
}

/**
 * What the provider records beyond a rollout's outputs, so that the next run can tell whether
 * the host still runs what its last rollout left, and which host key it trusted.
 */
export interface TrackedOutputs {
  /** Store path the last successful rollout left running; "" while none has succeeded. */
  readonly rolledOutSystem: string;
  /** Host key trusted on first use and pinned since (OpenSSH line); "" when the inventory pins the key. */
  readonly pinnedHostKey: string;
  /** Why the host could not be read when the state was recorded; "" when the outputs are what it runs. */
  readonly readError: string;
}

/** Every output key, in one place: what is not an input of the resource. */
export const OUTPUT_KEYS = [
  "systemPath",
  "generation",
  "bootedKernel",
  "bootId",
  "rebooted",
  "rebootedAt",
  "rebootReason",
  "pendingReboot",
  "rolledOutSystem",
  "pinnedHostKey",
  "readError",
] as const satisfies readonly (keyof HostOutputs | keyof TrackedOutputs)[];
