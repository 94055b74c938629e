/**
 * Faults set on a host, read from <hostDir>/faults.json (ENV.hostDir). The file may hold
 * either a list of fault names or { "faults": [...] }; a missing file means no faults.
 */
import * as fs from "node:fs";
import { ENV, hostPaths } from "../layout";
import { breaks, isFaultName, type FaultName, type FaultScope } from "../types";

/** Parses the contents of faults.json; unknown names are ignored. */
export function parseFaults(text: string): Set<FaultName> {
  const v: unknown = JSON.parse(text);
  const list = Array.isArray(v) ? v : v !== null && typeof v === "object" ? (v as { faults?: unknown }).faults : undefined;
  if (!Array.isArray(list)) throw new Error("faults.json holds neither a list of fault names nor { faults: [...] }");
  return new Set(list.filter((x): x is FaultName => typeof x === "string" && isFaultName(x)));
}

/** The faults currently set on this host (none outside a simulated host). */
export function readFaults(env: NodeJS.ProcessEnv = process.env): Set<FaultName> {
  const hostDir = env[ENV.hostDir];
  if (!hostDir) return new Set();
  const file = hostPaths(hostDir).faults;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return new Set();
  }
  try {
    return parseFaults(text);
  } catch (e) {
    throw new Error(`cannot read the faults of this host from ${file}: ${(e as Error).message}`);
  }
}

/** The unit that fails in a system broken by the activation-fails fault. */
export const ACTIVATION_FAULT_UNIT = "fleet-app.service";

/** The scopes of the broken-configuration faults in faults.json (sim/types.ts FaultsFile). */
export function parseFaultScopes(text: string): Map<FaultName, FaultScope> {
  const v: unknown = JSON.parse(text);
  const scopes = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as { scopes?: unknown }).scopes : undefined;
  const out = new Map<FaultName, FaultScope>();
  if (scopes === null || typeof scopes !== "object") return out;
  for (const [name, scope] of Object.entries(scopes as Record<string, unknown>)) {
    if (!isFaultName(name) || scope === null || typeof scope !== "object") continue;
    const sc = scope as { system?: unknown; spared?: unknown };
    if (typeof sc.system === "string") out.set(name, { system: sc.system });
    else if (Array.isArray(sc.spared)) out.set(name, { spared: sc.spared.filter((x): x is string => typeof x === "string") });
  }
  return out;
}

/** Whether the broken-configuration fault `fault` is set on this host and breaks `system`. */
export function systemBrokenBy(fault: FaultName, system: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const hostDir = env[ENV.hostDir];
  if (!hostDir) return false;
  let text: string;
  try {
    text = fs.readFileSync(hostPaths(hostDir).faults, "utf8");
  } catch {
    return false;
  }
  const scope = parseFaultScopes(text).get(fault);
  return scope !== undefined && breaks(scope, system);
}
