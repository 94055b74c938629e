/**
 * Pure decisions of a rollout: whether a host must reboot into the system just built (decided
 * before anything is activated), with which goal that system is activated, and which system a
 * rollback returns to.
 */
import { activatesNow, type Goal } from "../nixos/goal";
import type { BootFacts, SystemState } from "../nixos/ops";
import type { RebootPolicy } from "./spec";

/** The outcome of the reboot decision, with the reason shown to the user. */
export interface RebootDecision {
  readonly reboot: boolean;
  readonly reason: string;
  /**
   * The goal the built system is activated with now. A reboot always activates with `boot`:
   * the new userland never runs on the old kernel (nixpkgs issue 185030).
   */
  readonly goal: Goal;
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
 * Decides, from the system just built and the host as it was before, whether to reboot and
 * how to activate:
 *  - goal test never reboots: a reboot would drop the test activation.
 *  - a build of the system the host booted and runs never reboots.
 *  - never: no reboot. A system whose kernel, initrd, modules or parameters differ from the
 *    booted one is made the boot default only (not switched into live on the old kernel); it
 *    waits for someone else's reboot.
 *  - always: reboots after every build that changes the system.
 *  - when-needed with switch: only when the kernel, initrd, kernel modules or kernel
 *    parameters differ from the booted system; otherwise it is activated live.
 *  - when-needed with boot: when the built system differs from the running one, because
 *    `boot` activates nothing until the next boot.
 */
export function decideReboot(policy: RebootPolicy, goal: Goal, before: Pick<SystemState, "booted" | "current">, built: BootFacts): RebootDecision {
  if (goal === "test") return { reboot: false, goal, reason: "action test activates without a boot default; not rebooting" };
  const { booted, current } = before;
  if (built.system === booted.system && current.system === booted.system) {
    return { reboot: false, goal, reason: "already running the booted system" };
  }
  const changes = bootChanges(booted, built);
  switch (policy) {
    case "never":
      if (changes.length > 0) {
        return {
          reboot: false,
          goal: "boot",
          reason: `reboot policy never: ${changes.join(", ")} change at the next reboot; the new system is the boot default, not activated live`,
        };
      }
      return { reboot: false, goal, reason: activatesNow(goal) ? "reboot policy never; activated live" : "reboot policy never" };
    case "always":
      return { reboot: true, goal: "boot", reason: "reboot policy always" };
    case "when-needed":
      if (changes.length > 0) return { reboot: true, goal: "boot", reason: `${changes.join(", ")} changed` };
      if (goal === "boot" && built.system !== current.system) {
        return { reboot: true, goal: "boot", reason: "action boot: the new generation takes effect at boot" };
      }
      if (goal === "boot") return { reboot: false, goal, reason: "already running the built system" };
      return { reboot: false, goal, reason: "kernel, initrd, kernel modules and parameters unchanged; activated live" };
  }
}

/**
 * The system a rollback returns to: one known to boot and run healthy. That is the system
 * that ran when the rollout started when it runs the booted kernel, initrd, modules and
 * parameters (it was checked healthy before the rollout touched the host); otherwise (a live
 * switch whose kernel change never rebooted) the booted system itself. Never the profile's
 * generation at the start, which may be a pending one that has never booted.
 */
export function rollbackTarget(before: Pick<SystemState, "booted" | "current">): BootFacts {
  if (before.current.system !== "" && bootChanges(before.booted, before.current).length === 0) return before.current;
  return before.booted;
}
