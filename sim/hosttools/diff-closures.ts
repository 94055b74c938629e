/**
 * What `nix store diff-closures BEFORE AFTER` prints for two closures, as Nix 2.18 does: each
 * store path is grouped by package name and version (its name without the output suffix, split
 * where a dash is followed by a non-letter, Nix's DrvName); for every name, in byte order, whose
 * set of versions changed or whose total size changed by 8 KiB or more, one line
 * `name: REMOVED → ADDED, ±N.N KiB` (∅ for no version, ε for an empty one). Nix 2.18 colours the
 * size (red for growth, green for shrinkage) whether or not stdout is a terminal. Pure.
 */
import { storePathName, type ClosurePath } from "./closure";

const ANSI_RED = "\x1b[31;1m";
const ANSI_GREEN = "\x1b[32;1m";
const ANSI_NORMAL = "\x1b[0m";
/** Size changes below this are not shown. */
const SIZE_THRESHOLD = 8 * 1024;

/** A store path name split as Nix's DrvName does: the version starts at the first dash followed by a non-letter. */
export function drvName(name: string): { name: string; version: string } {
  for (let i = 0; i + 1 < name.length; i++) {
    if (name[i] === "-" && !/[A-Za-z]/.test(name[i + 1])) return { name: name.slice(0, i), version: name.slice(i + 1) };
  }
  return { name, version: "" };
}

/** The name without an output suffix such as -modules, -bin, -lib (ambiguous in Nix too). */
function withoutOutput(name: string): string {
  const m = /^(.*)-([a-z]+|lib32|lib64)$/.exec(name);
  return m ? m[1] : name;
}

type Grouped = Map<string, Map<string, number>>;

function group(closure: readonly ClosurePath[]): Grouped {
  const out: Grouped = new Map();
  for (const p of closure) {
    const { name, version } = drvName(withoutOutput(storePathName(p.path)));
    const versions = out.get(name) ?? new Map<string, number>();
    versions.set(version, (versions.get(version) ?? 0) + p.narSize);
    out.set(name, versions);
  }
  return out;
}

const byBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function showVersions(versions: readonly string[]): string {
  return versions.length === 0 ? "∅" : versions.map((v) => (v === "" ? "ε" : v)).sort(byBytes).join(", ");
}

/** The lines `nix store diff-closures` prints for `before` and `after`. */
export function diffClosures(before: readonly ClosurePath[], after: readonly ClosurePath[]): string[] {
  const a = group(before);
  const b = group(after);
  const lines: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort(byBytes)) {
    const was = a.get(name) ?? new Map<string, number>();
    const is = b.get(name) ?? new Map<string, number>();
    const total = (m: Map<string, number>) => [...m.values()].reduce((s, n) => s + n, 0);
    const delta = total(is) - total(was);
    const removed = [...was.keys()].filter((v) => !is.has(v)).sort(byBytes);
    const added = [...is.keys()].filter((v) => !was.has(v)).sort(byBytes);
    const items: string[] = [];
    if (removed.length > 0 || added.length > 0) items.push(`${showVersions(removed)} → ${showVersions(added)}`);
    if (Math.abs(delta) >= SIZE_THRESHOLD) {
      const kib = (delta / 1024).toFixed(1);
      items.push(`${delta > 0 ? ANSI_RED : ANSI_GREEN}${delta > 0 ? "+" : ""}${kib} KiB${ANSI_NORMAL}`);
    }
    if (items.length > 0) lines.push(`${name}: ${items.join(", ")}`);
  }
  return lines;
}
