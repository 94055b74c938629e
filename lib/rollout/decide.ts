/**
 * Pure decisions of a rollout: whether a host must reboot after its rebuild.
 */
import type { BootFacts } from "./remote";
import type { RebootPolicy, RebuildAction } from "./spec";

/** The outcome of the reboot decision, with the reason shown to the user. */
export interface RebootDecision {
  readonly reboot: boolean;
  readonly reason: string;
}

/** The boot-relevant parts that differ between two systems, by NixOS's link names. */
export function bootChanges(booted: BootFacts, next: BootFacts): string[] {
  const changed: string[] = [];
  if (booted.kernel !== next.kernel) changed.push("kernel");
  if (booted.initrd !== next.initrd) changed.push("initrd");
  if (booted.kernelModules !== next.kernelModules) changed.push("kernel-modules");
  if (booted.kernelParams !== next.kernelParams) changed.push("kernel-params");
  return changed;
}

/**
 * Decides whether to reboot once `action` has been applied.
 *  - test never reboots: a reboot would drop the test activation.
 *  - never: the new generation waits for someone else's reboot.
 *  - always: reboots after every rebuild that changed the system.
 *  - when-needed with switch: only when the kernel, initrd, kernel modules or kernel
 *    parameters differ from the booted system (the rest was activated live).
 *  - when-needed with boot: when the boot default differs from the running system, because
 *    `boot` activates nothing until the next boot.
 * A rebuild that left the system exactly as booted never reboots.
 */
export function decideReboot(
  policy: RebootPolicy,
  action: RebuildAction,
  booted: BootFacts,
  current: BootFacts,
  next: BootFacts,
): RebootDecision {
  if (action === "test") return { reboot: false, reason: "action test activates without a boot default; not rebooting" };
  if (next.system === booted.system && current.system === booted.system) {
    return { reboot: false, reason: "already running the booted system" };
  }
  const changes = bootChanges(booted, next);
  switch (policy) {
    case "never":
      return {
        reboot: false,
        reason:
          changes.length > 0
            ? `reboot policy never: ${changes.join(", ")} change at the next reboot`
            : "reboot policy never",
      };
    case "always":
      return { reboot: true, reason: "reboot policy always" };
    case "when-needed":
      if (changes.length > 0) return { reboot: true, reason: `${changes.join(", ")} changed` };
      if (action === "boot" && next.system !== current.system) {
        return { reboot: true, reason: "action boot: the new generation takes effect at boot" };
      }
      return { reboot: false, reason: "kernel, initrd, kernel modules and parameters unchanged; activated live" };
  }
}
