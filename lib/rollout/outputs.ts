/** The NixosHost resource's outputs beyond its inputs. */
import type { SystemState } from "../nixos/ops";
import type { ChangeReport } from "./changes";
import { bootChanges } from "./decide";

/**
 * What the host runs and what it will boot. `systemPath` and `generation` both describe the
 * running system (/run/current-system): `generation` is the newest system profile generation
 * whose system it is, 0 when none is (after action test). `pendingReboot` says what the boot
 * default would change at the next reboot.
 */
export interface HostOutputs {
  /** Store path of the running system (/run/current-system). */
  readonly systemPath: string;
  /** The system profile generation of the running system; 0 when it is none (action test). */
  readonly generation: number;
  /** Kernel version of the booted system, e.g. "6.6.45". */
  readonly bootedKernel: string;
  readonly bootId: string;
  /** Whether this rollout rebooted the host, when, and why (or why not). */
  readonly rebooted: boolean;
  readonly rebootedAt: string;
  readonly rebootReason: string;
  /**
   * A reboot would change what runs: the boot default is another system than the running one
   * (a whole pending generation, e.g. action boot with reboot policy never), or its kernel,
   * initrd, modules or parameters differ from the booted system's.
   */
  readonly pendingReboot: boolean;
  /**
   * What the last rollout changed: kernel and NixOS version before → after, the packages added,
   * removed and upgraded (changes.ts). A refresh keeps it; a failed rollout reports no change.
   */
  readonly changes: ChangeReport;
}

/** "6.6.45" from "/nix/store/…-linux-6.6.45/bzImage"; "" when unknown. */
export function kernelVersion(kernelPath: string): string {
  const m = /-linux-([0-9][^/]*)\//.exec(kernelPath);
  return m ? m[1] : "";
}

/** Whether the boot default differs from what runs now (see HostOutputs.pendingReboot). */
export function rebootPending(state: Pick<SystemState, "booted" | "current" | "profile">): boolean {
  if (state.profile.system === "") return false;
  return state.profile.system !== state.current.system || bootChanges(state.booted, state.profile).length > 0;
}

/** Outputs describing `state` after a rollout that made `changes`. */
export function outputsOf(state: SystemState, reboot: { rebooted: boolean; at?: Date; reason: string }, changes: ChangeReport): HostOutputs {
  return {
    systemPath: state.current.system,
    generation: state.currentGeneration,
    bootedKernel: kernelVersion(state.booted.kernel),
    bootId: state.bootId,
    rebooted: reboot.rebooted,
    rebootedAt: reboot.at ? reboot.at.toISOString() : "",
    rebootReason: reboot.reason,
    pendingReboot: rebootPending(state),
    changes,
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
  "changes",
  "rolledOutSystem",
  "pinnedHostKey",
  "readError",
] as const satisfies readonly (keyof HostOutputs | keyof TrackedOutputs)[];
