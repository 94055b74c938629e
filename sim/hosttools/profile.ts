/**
 * Nix profiles: `<profile>` is a symlink to `<name>-<N>-link`, which points into the store.
 * These functions follow nix-env's rules (a new generation only when the target differs
 * from the newest one; rollback goes to the nearest older generation) and its wording.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** One generation of a profile. */
export interface Generation {
  readonly number: number;
  /** Absolute path of the `<name>-<N>-link` symlink. */
  readonly link: string;
  /** Where the link points (a store path). */
  readonly target: string;
  /** The link's modification time: when the generation was made. */
  readonly createdMs: number;
}

/** A profile operation that nix-env would refuse; the message is Nix's, without "error: ". */
export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProfileError";
  }
}

function linkName(profile: string, n: number): string {
  return `${path.basename(profile)}-${n}-link`;
}

/** Every generation of `profile`, oldest first; none when the profile folder is missing. */
export function listGenerations(profile: string): Generation[] {
  const dir = path.dirname(profile);
  const base = path.basename(profile);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const gens: Generation[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}-`) || !name.endsWith("-link")) continue;
    const middle = name.slice(base.length + 1, -"-link".length);
    if (!/^\d+$/.test(middle)) continue;
    const link = path.join(dir, name);
    gens.push({ number: Number(middle), link, target: fs.readlinkSync(link), createdMs: fs.lstatSync(link).mtimeMs });
  }
  return gens.sort((a, b) => a.number - b.number);
}

/** The generation the profile symlink points at, if any. */
export function currentGeneration(profile: string): number | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(profile);
  } catch {
    return undefined;
  }
  const m = new RegExp(`^${escapeRegExp(path.basename(profile))}-(\\d+)-link$`).exec(path.basename(target));
  return m ? Number(m[1]) : undefined;
}

/** Points `link` at `target` atomically (a new symlink renamed over the old one). */
export function replaceSymlink(link: string, target: string): void {
  const tmp = `${link}.tmp-${process.pid}-${Date.now()}`;
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

/**
 * `nix-env -p profile --set target`: makes `target` the current generation, creating a new
 * one unless the newest generation already points at it (then that one becomes current).
 */
export function setProfile(profile: string, target: string): { generation: number; created: boolean } {
  fs.mkdirSync(path.dirname(profile), { recursive: true });
  const gens = listGenerations(profile);
  const newest = gens[gens.length - 1];
  let generation: number;
  let created = false;
  if (newest && newest.target === target) {
    generation = newest.number;
  } else {
    generation = (newest?.number ?? 0) + 1;
    fs.symlinkSync(target, path.join(path.dirname(profile), linkName(profile, generation)));
    created = true;
  }
  if (currentGeneration(profile) !== generation) replaceSymlink(profile, linkName(profile, generation));
  return { generation, created };
}

/**
 * `nix-env --rollback` (to: "previous") or `--switch-generation N`. Returns the message
 * nix-env prints on success.
 */
export function switchGeneration(profile: string, to: number | "previous"): { from: number; to: number; message: string } {
  const gens = listGenerations(profile);
  const cur = currentGeneration(profile) ?? 0;
  let dst: Generation | undefined;
  for (const g of gens) {
    if ((to === "previous" && g.number < cur) || g.number === to) dst = g;
  }
  if (!dst) {
    throw new ProfileError(
      to === "previous" ? `no profile version older than the current (${cur}) exists` : `profile version ${to} does not exist`,
    );
  }
  replaceSymlink(profile, linkName(profile, dst.number));
  return { from: cur, to: dst.number, message: `switching profile from version ${cur} to ${dst.number}` };
}

/**
 * `nix-env --delete-generations`: numbers, `old` (all but the current one), `+N` (keep the
 * newest N) or `Nd` (older than N days). Returns the removed generation numbers.
 */
export function deleteGenerations(profile: string, specs: readonly string[], nowMs = Date.now()): number[] {
  const gens = listGenerations(profile);
  const cur = currentGeneration(profile);
  const doomed = new Set<number>();
  for (const spec of specs) {
    if (spec === "old") {
      gens.filter((g) => g.number !== cur).forEach((g) => doomed.add(g.number));
    } else if (/^\+\d+$/.test(spec)) {
      const keep = Number(spec.slice(1));
      if (keep === 0) throw new ProfileError("invalid number of generations to keep");
      gens.slice(0, Math.max(0, gens.length - keep)).forEach((g) => doomed.add(g.number));
    } else if (/^\d+d$/.test(spec)) {
      const cutoff = nowMs - Number(spec.slice(0, -1)) * 86_400_000;
      gens.filter((g) => g.createdMs < cutoff).forEach((g) => doomed.add(g.number));
    } else if (/^\d+$/.test(spec)) {
      doomed.add(Number(spec));
    } else {
      throw new ProfileError(`invalid generation specifier '${spec}'`);
    }
  }
  if (cur !== undefined && doomed.has(cur) && specs.some((s) => /^\d+$/.test(s) && Number(s) === cur)) {
    throw new ProfileError(`cannot delete current version of profile ${profile}'`);
  }
  const removed: number[] = [];
  for (const g of gens) {
    if (!doomed.has(g.number) || g.number === cur) continue;
    fs.unlinkSync(g.link);
    removed.push(g.number);
  }
  return removed;
}

/** `nix-env --list-generations` output: number, creation time (local), "(current)". */
export function formatGenerations(gens: readonly Generation[], current: number | undefined): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return gens
    .map((g) => {
      const t = new Date(g.createdMs);
      const when = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
      return `${String(g.number).padStart(4)}   ${when}   ${g.number === current ? "(current)" : ""}\n`;
    })
    .join("");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
