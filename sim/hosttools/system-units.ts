/**
 * What `systemctl stop` changes about the running system's own units (those its configuration
 * starts, units.ts), kept apart from the transient units of transient.ts and from anything
 * else under /run/nixos-sim: one marker file per stopped unit in /run/nixos-sim/stopped-units/.
 * A stopped unit is inactive until `systemctl start|restart` starts it again, or until the
 * next boot (a fresh /run) or switch-to-configuration switch|test, which starts it again as
 * NixOS's does by starting the active targets that want it. One file per unit, so two
 * systemctl runs at once never lose each other's change.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST } from "./paths";

/** Where the markers live on the host (under /run: a reboot forgets them). */
export const STOPPED_UNITS_DIR = path.posix.join(HOST.runSim, "stopped-units");

/** The marker folder of a host seen from outside it: `run` is the host folder's fs/run. */
export function stoppedUnitsDirIn(run: string): string {
  return path.join(run, path.posix.relative("/run", STOPPED_UNITS_DIR));
}

function markerOf(unit: string, dir: string): string {
  if (unit.includes("/") || unit.startsWith(".")) throw new Error(`invalid unit name ${JSON.stringify(unit)}`);
  return path.join(dir, unit);
}

/** The units stopped by hand since the system was last booted or activated, sorted. */
export function stoppedUnits(dir: string = STOPPED_UNITS_DIR): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => !n.startsWith(".")).sort();
  } catch {
    return [];
  }
}

/** Records that `unit` was stopped. */
export function markStopped(unit: string, dir: string = STOPPED_UNITS_DIR): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(markerOf(unit, dir), `${Date.now()}\n`);
}

/** Records that `unit` runs again. */
export function markStarted(unit: string, dir: string = STOPPED_UNITS_DIR): void {
  fs.rmSync(markerOf(unit, dir), { force: true });
}

/** Activation started the system's units: none is stopped any more. */
export function startAllUnits(dir: string = STOPPED_UNITS_DIR): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
