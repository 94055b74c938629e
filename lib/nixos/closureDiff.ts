/**
 * Reading what `nix store diff-closures OLD NEW` prints: one line per package name whose set of
 * versions changed, or whose store paths grew or shrank by 8 KiB or more:
 *
 *   linux: 6.6.45 → 6.6.46, +123.4 KiB      versions changed, and the size
 *   htop: ∅ → 3.3.0, +412.0 KiB             added (∅: not in the old closure)
 *   nano: 8.0 → ∅, -2101.3 KiB              removed
 *   perl: 5.38.0, 5.38.2 → 5.40.0           several versions at once, comma-separated
 *   hello: ε → 2.12                         ε: an empty version
 *   system: +9.0 KiB                        a size change only: no version changed
 *
 * Nix 2.18 prints the size in KiB with a sign (`%+.1f KiB`); later versions pick the unit
 * (`1.2 MiB`). The size carries ANSI colour (red growth, green shrinkage), which Nix 2.18
 * writes even when stdout is no terminal. Pure: no I/O.
 */

/** One line of the diff. Versions are as Nix prints them, "" for its ε (an empty version). */
export interface ClosureDiffEntry {
  /** The package name: the store path name without its version and output. */
  readonly name: string;
  /** Versions only in the old closure; empty when none went away. */
  readonly removed: readonly string[];
  /** Versions only in the new closure; empty when none came. */
  readonly added: readonly string[];
  /** The change of the paths' total size in bytes when Nix showed it (|Δ| ≥ 8 KiB), else 0. */
  readonly sizeDelta: number;
}

/** What a diff's output says, with the lines that are none of the forms above. */
export interface ParsedClosureDiff {
  readonly entries: readonly ClosureDiffEntry[];
  readonly unrecognised: readonly string[];
}

const ANSI = /\x1b\[[0-9;]*m/g;
const SIZE = /^([+-]?)(\d+(?:\.\d+)?) (K|M|G|T|P|E)?i?B$/;
const UNIT_POWER: Readonly<Record<string, number>> = { "": 0, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6 };
const EMPTY_SET = "∅";
const EPSILON = "ε";

/** Bytes of a printed size ("+12.3 KiB", "-1.5 MiB"); undefined when `text` is no size. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.round(Number(m[2]) * 1024 ** UNIT_POWER[m[3] ?? ""]);
  return m[1] === "-" ? -bytes : bytes;
}

/** The versions of one side of the arrow: ∅ is none, ε an empty version. */
function versionsOf(text: string): string[] | undefined {
  const t = text.trim();
  if (t === EMPTY_SET) return [];
  const parts = t.split(", ").map((v) => (v === EPSILON ? "" : v));
  return parts.some((v) => v !== "" && /\s/.test(v)) ? undefined : parts;
}

/** One line, or undefined when it is none of the forms Nix prints. */
export function parseClosureDiffLine(line: string): ClosureDiffEntry | undefined {
  const plain = line.replace(ANSI, "").trimEnd();
  const colon = plain.indexOf(": ");
  if (colon <= 0) return undefined;
  const name = plain.slice(0, colon).trim();
  const rest = plain.slice(colon + 2);
  const arrow = rest.indexOf(" → ");
  if (arrow < 0) {
    const size = parseSize(rest);
    return size === undefined ? undefined : { name, removed: [], added: [], sizeDelta: size };
  }
  const removed = versionsOf(rest.slice(0, arrow));
  // The size, when shown, is the last comma-separated item after the arrow.
  const after = rest.slice(arrow + 3).split(", ");
  const size = after.length > 1 ? parseSize(after[after.length - 1]) : undefined;
  const added = versionsOf((size === undefined ? after : after.slice(0, -1)).join(", "));
  if (removed === undefined || added === undefined || (removed.length === 0 && added.length === 0)) return undefined;
  return { name, removed, added, sizeDelta: size ?? 0 };
}

/** Every line of `nix store diff-closures` output. */
export function parseClosureDiff(output: string): ParsedClosureDiff {
  const entries: ClosureDiffEntry[] = [];
  const unrecognised: string[] = [];
  for (const line of output.split("\n")) {
    if (line.replace(ANSI, "").trim() === "") continue;
    const entry = parseClosureDiffLine(line);
    if (entry) entries.push(entry);
    else unrecognised.push(line.replace(ANSI, ""));
  }
  return { entries, unrecognised };
}

/** Versions as Nix shows them: comma-separated, ε for an empty one. */
export function showVersions(versions: readonly string[]): string {
  return versions.length === 0 ? EMPTY_SET : versions.map((v) => (v === "" ? EPSILON : v)).join(", ");
}
