/**
 * What activating a built NixOS system aims at: switch-to-configuration's verbs, as a closed
 * type with the questions the rollout asks of it.
 */

/** A goal of activation (`<system>/bin/switch-to-configuration <goal>`). */
export type Goal = "switch" | "boot" | "test";
export const GOALS: readonly Goal[] = ["boot", "switch", "test"];

/** The goal makes the system the profile's generation and the boot loader's default (switch, boot). */
export function setsBootDefault(goal: Goal): boolean {
  return goal === "switch" || goal === "boot";
}

/** The goal activates the system now, in the running boot (switch, test). */
export function activatesNow(goal: Goal): boolean {
  return goal === "switch" || goal === "test";
}

/** The goal's system is still what runs after a reboot (switch, boot); `test` is undone by one. */
export function persistsAfterReboot(goal: Goal): boolean {
  return setsBootDefault(goal);
}
