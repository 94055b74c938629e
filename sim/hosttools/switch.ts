/**
 * switch-to-configuration of a simulated system:
 *   boot          install the boot loader: an entry per generation of the system profile,
 *                 the profile's current generation as default; /run is left alone
 *   switch        the same, then activate: /run/current-system points at the system
 *   test          activate only
 *   dry-activate  say what activating would change
 * Activating a system with failing units (units.ts, or the activation-fails fault) leaves it
 * active, and the boot loader already installed, but exits 4, as the real script does when
 * units fail to start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Io } from "./cli";
import { recordEvent, type ControlClient } from "./control";
import { ACTIVATION_FAULT_UNIT, systemBrokenBy } from "./faults";
import { activateOsRelease } from "./host-facts";
import { installLoader } from "./loader";
import { HOST } from "./paths";
import { currentGeneration, listGenerations, replaceSymlink } from "./profile";
import { readSystemInfo, type SystemInfo } from "./system-info";
import { startAllUnits } from "./system-units";

export const SWITCH_ACTIONS = ["switch", "boot", "test", "dry-activate"] as const;
export type SwitchAction = (typeof SWITCH_ACTIONS)[number];

export function isSwitchAction(s: string): s is SwitchAction {
  return (SWITCH_ACTIONS as readonly string[]).includes(s);
}

/** Exit status of switch-to-configuration when units failed to start. */
export const UNITS_FAILED_STATUS = 4;

export interface SwitchContext {
  readonly io: Io;
  readonly control?: ControlClient;
}

function readCurrent(): SystemInfo | undefined {
  try {
    return readSystemInfo(fs.realpathSync(HOST.currentSystem));
  } catch {
    return undefined;
  }
}

function listLine(prefix: string, units: readonly string[]): string {
  return units.length > 0 ? `${prefix} ${units.join(", ")}\n` : "";
}

/** Runs switch-to-configuration `action` for the system at store path `system`. */
export async function switchToConfiguration(system: string, action: SwitchAction, ctx: SwitchContext): Promise<number> {
  const info = readSystemInfo(system);
  const before = readCurrent();
  const added = info.units.filter((u) => !before?.units.includes(u));
  const removed = (before?.units ?? []).filter((u) => !info.units.includes(u));

  if (action === "boot" || action === "switch") {
    const generations = listGenerations(HOST.systemProfile);
    const current = currentGeneration(HOST.systemProfile);
    if (current === undefined) throw new Error(`${HOST.systemProfile} has no current generation; cannot install the boot loader`);
    installLoader(HOST.boot, generations, current);
  }
  if (action === "dry-activate") {
    ctx.io.err(listLine("would stop the following units:", removed) + "would activate the configuration...\n" + listLine("would start the following units:", added));
  }
  if (action === "switch" || action === "test") {
    ctx.io.err(listLine("stopping the following units:", removed));
    ctx.io.err("activating the configuration...\nsetting up /etc...\nreloading user units for root...\nrestarting sysinit-reactivation.target\n");
    fs.mkdirSync(path.dirname(HOST.currentSystem), { recursive: true });
    replaceSymlink(HOST.currentSystem, system);
    // "setting up /etc": /etc/os-release follows the system; the running kernel does not change.
    activateOsRelease(system);
    // Starting the active targets starts every unit they want, those stopped by hand included.
    startAllUnits();
    await restartFleetServices(ctx, system);
    ctx.io.err(listLine("the following new units were started:", added.filter((u) => !info.failingUnits.includes(u))));
  }
  // The activation-fails fault: a unit of this system fails to start, as a bad configuration's would.
  const broken = systemBrokenBy("activation-fails", system) ? [ACTIVATION_FAULT_UNIT] : [];
  const failed = action === "switch" || action === "test" ? [...info.failingUnits, ...broken] : [];
  await recordEvent(ctx.control, "activated", failed.length > 0 ? { action, system, failedUnits: failed } : { action, system }, ctx.io.err);
  if (failed.length > 0) {
    ctx.io.err(`warning: the following units failed: ${failed.join(", ")}\n`);
    for (const unit of failed) {
      ctx.io.err(`\n× ${unit}\n     Loaded: loaded (/etc/systemd/system/${unit}; enabled; preset: enabled)\n     Active: failed (Result: exit-code)\n`);
    }
    return UNITS_FAILED_STATUS;
  }
  return 0;
}

/**
 * sshd is run by the fleet, which plays systemd for it: it must follow the activated system
 * (sshd.service stopped, restarted or started). A failure is reported like a unit that failed
 * to restart.
 */
async function restartFleetServices(ctx: SwitchContext, system: string): Promise<void> {
  if (!ctx.control) return;
  try {
    await ctx.control.servicesChanged(system);
  } catch (e) {
    ctx.io.err(`warning: sshd.service could not follow the new configuration: ${(e as Error).message}\n`);
  }
}

/** The usage text of switch-to-configuration. */
export function switchUsage(argv0: string): string {
  return `Usage: ${argv0} [switch|boot|test|dry-activate]

switch:       make this system the boot default and activate it now
boot:         make this system the boot default
test:         activate this system without making it the boot default
dry-activate: show what activating this system would do
`;
}
