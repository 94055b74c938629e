/**
 * The host-side guard that returns a host to its previous system when a new configuration cuts
 * it off (sshd disabled or moved, root's key or login refused, the network broken).
 *
 * Before activating, the rollout arms the guard on the host; once the host is reachable again
 * over a NEW SSH connection, the rollout disarms it (the confirmation). An unconfirmed guard
 * fires on the host with nobody connected:
 *   live   a transient timer (systemd-run --on-active) armed before `switch`/`test`: it makes the
 *          previous system the profile's generation again and switches into it (`test` goal:
 *          only activates it), so it is both the running system and the boot default.
 *   boot   armed before a reboot into the new system: the unit nixos-fleet-boot-guard.service
 *          that every rendered system carries (nix/guard.nix) starts at boot, and when the host
 *          booted the armed system and nobody confirms within the deadline, it makes the previous
 *          system the boot default and reboots into it.
 * Confirmation and firing race for one atomic rename of the armed file, so exactly one wins.
 */
import { shellQuote } from "../host/quote";
import { setsBootDefault, type Goal } from "./goal";

/** Where the armed guard lives on the host; nix/guard.nix reads the same paths. */
export const GUARD_DIR = "/var/lib/nixos-fleet/guard";
/** The armed boot guard (nix/guard.nix's unit acts on it). */
export const BOOT_GUARD_FILE = `${GUARD_DIR}/boot`;
/** The armed boot guard once the unit of the boot it guards took it (nix/guard.nix). */
export const BOOT_GUARD_WAITING = `${BOOT_GUARD_FILE}.waiting`;
/** The armed live guard. */
export const LIVE_GUARD_FILE = `${GUARD_DIR}/live`;
/** The transient unit of the live guard: its timer fires the revert. */
export const LIVE_GUARD_UNIT = "nixos-fleet-guard";
/** The unit every rendered system carries for the boot guard (nix/guard.nix). */
export const BOOT_GUARD_UNIT = "nixos-fleet-boot-guard.service";
/** The system profile the guard sets back. */
const PROFILE = "/nix/var/nix/profiles/system";

/** What the rollout arms before it activates a new system. */
export type Guard =
  /** Before `switch`/`test` into `system`: revert live unless confirmed within `seconds`. */
  | { readonly kind: "live"; readonly system: string; readonly previous: string; readonly goal: Goal; readonly seconds: number }
  /** Before rebooting into `system`: revert and reboot unless confirmed within `seconds` of its boot. */
  | { readonly kind: "boot"; readonly system: string; readonly previous: string; readonly seconds: number };

/** What disarming found: the guard was still armed (now disarmed), had already fired, or none was armed. */
export type GuardOutcome = "disarmed" | "fired" | "none";

/** Whether the guard waits across a reboot (the boot guard) rather than in the running boot. */
export function spansReboot(g: Guard): boolean {
  return g.kind === "boot";
}

/** The armed file's content: the facts the host-side half needs, one `key=value` per line. */
export function armedFile(g: Guard): string {
  const lines = [`system=${g.system}`, `previous=${g.previous}`, `seconds=${g.seconds}`];
  if (g.kind === "live") lines.push(`goal=${g.goal}`);
  return lines.join("\n") + "\n";
}

/**
 * The command the live guard's timer runs: claim the armed file (a confirmation that came
 * first wins the rename, and then nothing happens), then return to the previous system.
 */
export function liveRevertCommand(g: Extract<Guard, { kind: "live" }>): string {
  const prev = shellQuote(g.previous);
  const revert = setsBootDefault(g.goal)
    ? `${prev}/sw/bin/nix-env -p ${PROFILE} --set ${prev} && ${prev}/bin/switch-to-configuration switch`
    : `${prev}/bin/switch-to-configuration test`;
  return `mv ${LIVE_GUARD_FILE} ${LIVE_GUARD_FILE}.fired || exit 0; echo "not confirmed within ${g.seconds}s: returning to ${g.previous}"; ${revert}`;
}

/**
 * Arms the guard. Earlier markers go first (so `fired` later means this guard fired). A live
 * guard's timer is started before its armed file is written: a timer an earlier rollout left
 * loaded (its disarm could not stop it) holds the unit's name, so starting ours fails, and only
 * then is that timer stopped and ours started; it could not have claimed the new file, which
 * did not exist yet. The new connection this runs on confirms the host is reachable.
 */
export function armScript(g: Guard): string {
  const file = g.kind === "live" ? LIVE_GUARD_FILE : BOOT_GUARD_FILE;
  const lines = ["set -e", `mkdir -p ${GUARD_DIR}`, `rm -f ${LIVE_GUARD_FILE} ${LIVE_GUARD_FILE}.* ${BOOT_GUARD_FILE} ${BOOT_GUARD_FILE}.*`];
  if (g.kind === "live") {
    // The unit gets the session's PATH with the previous system's tools first: a service does not inherit it.
    const run =
      `systemd-run --quiet --collect --unit=${LIVE_GUARD_UNIT} --description=${shellQuote(`nixos-fleet: return to ${g.previous} unless confirmed`)} ` +
      `--on-active=${g.seconds}s --timer-property=AccuracySec=1s --setenv=PATH=${shellQuote(g.previous)}/sw/bin:"$PATH" -- /bin/sh -c ${shellQuote(liveRevertCommand(g))}`;
    lines.push(
      `if ! ${run} 2>/dev/null; then`,
      `  systemctl stop ${LIVE_GUARD_UNIT}.timer ${LIVE_GUARD_UNIT}.service >/dev/null 2>&1 || true`,
      `  systemctl reset-failed ${LIVE_GUARD_UNIT}.service >/dev/null 2>&1 || true`,
      `  ${run}`,
      "fi",
    );
  }
  lines.push(`printf '%s' ${shellQuote(armedFile(g))} > ${file}.tmp`, `mv ${file}.tmp ${file}`);
  return lines.join("\n");
}

/** Disarms whichever guard is armed and prints what it found (parseDisarm); a fired guard is reported once. */
export function disarmScript(): string {
  return [
    "out=none",
    `if mv ${LIVE_GUARD_FILE} ${LIVE_GUARD_FILE}.confirmed 2>/dev/null; then systemctl stop ${LIVE_GUARD_UNIT}.timer >/dev/null 2>&1 || true; out=disarmed; fi`,
    // The boot guard's unit takes the armed file as boot.waiting while it waits: either name confirms.
    `if mv ${BOOT_GUARD_FILE} ${BOOT_GUARD_FILE}.confirmed 2>/dev/null || mv ${BOOT_GUARD_WAITING} ${BOOT_GUARD_FILE}.confirmed 2>/dev/null; then out=disarmed; fi`,
    // A guard that fired is told once: its marker goes with the answer.
    `if [ "$out" = none ] && { [ -e ${LIVE_GUARD_FILE}.fired ] || [ -e ${BOOT_GUARD_FILE}.fired ]; }; then out=fired; rm -f ${LIVE_GUARD_FILE}.fired ${BOOT_GUARD_FILE}.fired; fi`,
    'echo "guard: $out"',
  ].join("\n");
}

/** Reads disarmScript's answer. */
export function parseDisarm(stdout: string): GuardOutcome {
  const m = /^guard: (disarmed|fired|none)$/m.exec(stdout);
  if (!m) throw new Error(`unexpected answer from the guard: ${JSON.stringify(stdout.trim().slice(0, 200))}`);
  return m[1] as GuardOutcome;
}
