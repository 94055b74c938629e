/**
 * What a rollout changed on a host: the running kernel, the NixOS version and the packages of
 * the running system, before → after. "Before" is what the host ran when the rollout started,
 * "after" what it runs when it ends. The packages are what `nix store diff-closures` says
 * between the two systems; the system's own toplevel (nixos-system-<host>) is left out of them,
 * as its version is the NixOS version. Only reading the host is a side effect (readChanges);
 * the report and its lines are pure.
 */
import { showVersions, type ClosureDiffEntry } from "../nixos/closureDiff";
import { isDiffRead, type NixosOps, type SystemComparison, type SystemState } from "../nixos/ops";
import { kernelVersion } from "./outputs";

/** A value before and after the rollout; equal when it did not change. */
export interface VersionChange {
  readonly from: string;
  readonly to: string;
}

/** A package with its versions (comma-separated when the closure holds several; "" when it has none). */
export interface PackageVersion {
  readonly name: string;
  readonly version: string;
}

/** A package whose versions changed: upgraded, or moved to another version (e.g. an older kernel series). */
export interface PackageUpgrade {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

/** The packages added, removed and upgraded between the old and the new system. */
export interface PackageChanges {
  readonly added: readonly PackageVersion[];
  readonly removed: readonly PackageVersion[];
  readonly upgraded: readonly PackageUpgrade[];
}

/** What the last rollout changed on the host. */
export interface ChangeReport {
  /** Whether the rollout changed the running system; false when it changed nothing or failed. */
  readonly changed: boolean;
  /** The running kernel (the booted system's). */
  readonly kernel: VersionChange;
  /** The running system's NixOS version (`<system>/nixos-version`). */
  readonly nixosVersion: VersionChange;
  readonly packages: PackageChanges;
  /** Why the packages could not be read, or what of the diff was not understood; "" when all was. */
  readonly packagesError: string;
}

/** The report of a rollout that changed nothing, or failed (it reports no change). */
export const NO_CHANGES: ChangeReport = {
  changed: false,
  kernel: { from: "", to: "" },
  nixosVersion: { from: "", to: "" },
  packages: { added: [], removed: [], upgraded: [] },
  packagesError: "",
};

/** The system itself in its closure: its "version" is the NixOS version, reported apart. */
const isSystemToplevel = (name: string): boolean => name.startsWith("nixos-system-");

/** Version strings of one side of a diff line: "" for an empty version, as Nix's ε is. */
const versions = (vs: readonly string[]): string => (vs.length === 1 && vs[0] === "" ? "" : showVersions(vs));

/** The packages a diff names: lines that change no version (size only) are no package change. */
export function packageChanges(entries: readonly ClosureDiffEntry[]): PackageChanges {
  const added: PackageVersion[] = [];
  const removed: PackageVersion[] = [];
  const upgraded: PackageUpgrade[] = [];
  for (const e of entries) {
    if (isSystemToplevel(e.name)) continue;
    if (e.removed.length === 0 && e.added.length > 0) added.push({ name: e.name, version: versions(e.added) });
    else if (e.added.length === 0 && e.removed.length > 0) removed.push({ name: e.name, version: versions(e.removed) });
    else if (e.added.length > 0) upgraded.push({ name: e.name, from: versions(e.removed), to: versions(e.added) });
  }
  return { added, removed, upgraded };
}

/** The report from the systems before and after the rollout and their comparison (undefined: nothing changed). */
export function changeReport(before: SystemState, after: SystemState, comparison: SystemComparison | undefined): ChangeReport {
  if (comparison === undefined || before.current.system === after.current.system) return NO_CHANGES;
  const diff = comparison.diff;
  let packagesError = "";
  if (!isDiffRead(diff)) packagesError = diff.reason;
  else if (diff.unrecognised.length > 0) {
    packagesError = `${diff.unrecognised.length} line(s) of nix store diff-closures were not understood, e.g. ${JSON.stringify(diff.unrecognised[0])}`;
  }
  return {
    changed: true,
    kernel: { from: kernelVersion(before.booted.kernel), to: kernelVersion(after.booted.kernel) },
    nixosVersion: { from: comparison.fromVersion, to: comparison.toVersion },
    packages: isDiffRead(diff) ? packageChanges(diff.entries) : NO_CHANGES.packages,
    packagesError,
  };
}

/** "3 upgraded, 1 added, 0 removed". */
export function packageCounts(p: PackageChanges): string {
  return `${p.upgraded.length} upgraded, ${p.added.length} added, ${p.removed.length} removed`;
}

/** The progress lines of a report: kernel and NixOS version when they changed, and the package counts. */
export function changeLines(host: string, r: ChangeReport): string[] {
  if (!r.changed) return [];
  const lines: string[] = [];
  if (r.kernel.from !== r.kernel.to) lines.push(`${host}: kernel ${r.kernel.from || "unknown"} → ${r.kernel.to || "unknown"}`);
  if (r.nixosVersion.from !== r.nixosVersion.to) lines.push(`${host}: NixOS ${r.nixosVersion.from || "unknown"} → ${r.nixosVersion.to || "unknown"}`);
  const counts = packageCounts(r.packages);
  if (r.packagesError === "") lines.push(`${host}: packages: ${counts}`);
  else if (isEmptyChanges(r.packages)) lines.push(`${host}: packages could not be read: ${r.packagesError}`);
  else lines.push(`${host}: packages: ${counts} (${r.packagesError})`);
  return lines;
}

function isEmptyChanges(p: PackageChanges): boolean {
  return p.added.length === 0 && p.removed.length === 0 && p.upgraded.length === 0;
}

/**
 * Reads what changed between `before` and `after` on the host. Never rejects: the rollout has
 * succeeded by then, and a comparison that failed (the connection, a command) is reported as
 * packages that could not be read.
 */
export async function readChanges(ops: NixosOps, before: SystemState, after: SystemState): Promise<ChangeReport> {
  if (before.current.system === after.current.system) return NO_CHANGES;
  let comparison: SystemComparison;
  try {
    comparison = await ops.compareSystems(before.current.system, after.current.system);
  } catch (error) {
    comparison = { fromVersion: "", toVersion: "", diff: { kind: "unreadable", reason: error instanceof Error ? error.message : String(error) } };
  }
  return changeReport(before, after, comparison);
}
