/**
 * `nixos-rebuild list-generations [--json]`: the generations of the system profile, newest
 * first, with their NixOS and kernel versions, as a table or as JSON.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { currentGeneration, listGenerations } from "./profile";
import { readSystemInfo } from "./system-info";

export interface GenerationRow {
  readonly generation: number;
  /** Seconds since the epoch, like the real script's `stat --format=%W`. */
  readonly date: number;
  readonly nixosVersion: string;
  readonly kernelVersion: string;
  readonly configurationRevision: string;
  readonly specialisations: readonly string[];
  readonly current: boolean;
}

/** The rows for `profile`, newest first. */
export function generationRows(profile: string): GenerationRow[] {
  const current = currentGeneration(profile);
  return listGenerations(profile)
    .reverse()
    .map((g) => {
      let nixosVersion = "Unknown";
      let kernelVersion = "Unknown";
      try {
        nixosVersion = fs.readFileSync(path.join(g.target, "nixos-version"), "utf8");
        kernelVersion = readSystemInfo(g.target).kernelVersion;
      } catch {
        // A generation whose system is gone shows as Unknown, as on NixOS.
      }
      return {
        generation: g.number,
        date: Math.floor(g.createdMs / 1000),
        nixosVersion,
        kernelVersion,
        configurationRevision: "",
        specialisations: [],
        current: g.number === current,
      };
    });
}

function localTime(seconds: number): string {
  const t = new Date(seconds * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}

/** The table `column --table` makes of the rows. */
export function formatGenerationTable(rows: readonly GenerationRow[]): string {
  const header = ["Generation", "Build-date", "NixOS version", "Kernel", "Configuration Revision", "Specialisation"];
  const cells = rows.map((r) => [
    r.current ? `${r.generation} current` : `${r.generation}`,
    localTime(r.date),
    r.nixosVersion,
    r.kernelVersion,
    r.configurationRevision,
    r.specialisations.join(" "),
  ]);
  const all = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  return all.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd() + "\n").join("");
}
