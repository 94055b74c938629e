/**
 * The state systemd reports on a simulated host, decided from when the host booted (the
 * fleet writes /run/nixos-sim/booted-at and timings.json at boot), the running system's
 * failing units and the `degraded` fault:
 *   no booted-at                       offline
 *   less than systemdSettleMs since it starting
 *   a failing unit or `degraded` set   degraded
 *   otherwise                          running
 * A unit stopped by hand (system-units.ts) is inactive and leaves the system running.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_TIMINGS } from "../types";
import { ACTIVATION_FAULT_UNIT, systemBrokenBy } from "./faults";
import { HOST, RUN_SIM_FILES } from "./paths";
import { readSystemInfo, type SystemInfo } from "./system-info";
import { stoppedUnits } from "./system-units";

export type SystemState = "offline" | "starting" | "running" | "degraded";
export type UnitState = "active" | "activating" | "failed" | "inactive";

/** The unit that fails when the `degraded` fault is set (a classic on real machines). */
export const DEGRADED_FAULT_UNIT = "systemd-networkd-wait-online.service";

export interface StateInput {
  readonly bootedAtMs: number | undefined;
  readonly nowMs: number;
  readonly settleMs: number;
  readonly degradedFault: boolean;
  /** Units of the running system, and those that fail. */
  readonly units: readonly string[];
  readonly failingUnits: readonly string[];
  /** Units of the running system stopped by `systemctl stop` since it booted or was activated (system-units.ts). */
  readonly stoppedUnits: readonly string[];
  /** networking.hostName of the running system, if known. */
  readonly hostName?: string;
}

/** The overall state (`systemctl is-system-running`). */
export function systemState(s: StateInput): SystemState {
  if (s.bootedAtMs === undefined) return "offline";
  if (s.nowMs < s.bootedAtMs + s.settleMs) return "starting";
  return failedUnits(s).length > 0 ? "degraded" : "running";
}

/** Units in the failed state (none while the system is still starting). */
export function failedUnits(s: StateInput): string[] {
  if (s.bootedAtMs === undefined || s.nowMs < s.bootedAtMs + s.settleMs) return [];
  const failed = [...s.failingUnits];
  if (s.degradedFault && !failed.includes(DEGRADED_FAULT_UNIT)) failed.push(DEGRADED_FAULT_UNIT);
  return failed.sort();
}

/** Every loaded unit (the system's, plus the fault's). */
export function loadedUnits(s: StateInput): string[] {
  const all = new Set([...s.units, ...failedUnits(s)]);
  return [...all].sort();
}

/** The state of one unit (`systemctl is-active`). */
export function unitState(s: StateInput, unit: string): UnitState {
  const name = unit.includes(".") ? unit : `${unit}.service`;
  if (failedUnits(s).includes(name)) return "failed";
  if (!s.units.includes(name)) return "inactive";
  if (s.bootedAtMs === undefined) return "inactive";
  if (s.failingUnits.includes(name)) return "activating";
  return s.stoppedUnits.includes(name) ? "inactive" : "active";
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A timing the fleet wrote at boot (timings.json), or its default. */
function readTiming(key: "systemdSettleMs" | "buildMs", runSimDir: string): number {
  try {
    const t = JSON.parse(fs.readFileSync(path.join(runSimDir, RUN_SIM_FILES.timings), "utf8")) as Record<string, unknown>;
    const v = t[key];
    if (typeof v === "number") return v;
  } catch {
    // No timings file: the fleet uses the defaults.
  }
  return DEFAULT_TIMINGS[key] ?? 0;
}

/** The settle time the fleet wrote at boot, or the default. */
export function readSettleMs(runSimDir: string = HOST.runSim): number {
  return readTiming("systemdSettleMs", runSimDir);
}

/** How long building a new system's derivations takes, as the fleet wrote it at boot. */
export function readBuildMs(runSimDir: string = HOST.runSim): number {
  return readTiming("buildMs", runSimDir);
}

/** The running system's record (/run/current-system, else /run/booted-system), with the unit the activation-fails fault breaks in it. */
export function runningSystem(): SystemInfo | undefined {
  for (const link of [HOST.currentSystem, HOST.bootedSystem]) {
    try {
      const info = readSystemInfo(fs.realpathSync(link));
      if (!systemBrokenBy("activation-fails", info.system)) return info;
      return { ...info, units: [...new Set([...info.units, ACTIVATION_FAULT_UNIT])].sort(), failingUnits: [...info.failingUnits, ACTIVATION_FAULT_UNIT].sort() };
    } catch {
      // Try the next link.
    }
  }
  return undefined;
}

/** Gathers the state input from the host's /run. */
export function readStateInput(degradedFault: boolean, nowMs: number = Date.now()): StateInput {
  const info = runningSystem();
  return {
    bootedAtMs: readNumber(path.join(HOST.runSim, RUN_SIM_FILES.bootedAt)),
    nowMs,
    settleMs: readSettleMs(),
    degradedFault,
    units: info?.units ?? [],
    failingUnits: info?.failingUnits ?? [],
    stoppedUnits: stoppedUnits(),
    hostName: info?.hostName,
  };
}
