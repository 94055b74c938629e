/**
 * Faults set on a host, read from <hostDir>/faults.json (ENV.hostDir). The file may hold
 * either a list of fault names or { "faults": [...] }; a missing file means no faults.
 */
import * as fs from "node:fs";
import { ENV, hostPaths } from "../layout";
import { isFaultName, type FaultName } from "../types";

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
