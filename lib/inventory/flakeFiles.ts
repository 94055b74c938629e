/**
 * Which files of the user's flake every host receives (inventory nix.flake.path), or why the
 * flake cannot be shipped. Pure over the injected folder listing and file reader: every problem
 * is reported at once, before any host is touched.
 */
import * as path from "node:path";
import { FLAKE_LIMITS, RESERVED_FLAKE_FILES } from "../nixos/flake";
import type { TreeEntry } from "./fsTree";

/** What reading the flake's folder gave: its files (relative name → contents) and what is wrong. */
export interface FlakeFiles {
  readonly files: Readonly<Record<string, string>>;
  readonly problems: readonly string[];
}

/**
 * The files of the flake at `shown` (as the inventory names it), listed in `entries`, read as
 * UTF-8 with `read(relative)` (which puts U+FFFD where bytes are not UTF-8).
 */
export function flakeFiles(shown: string, entries: readonly TreeEntry[], read: (relative: string) => string): FlakeFiles {
  const problems: string[] = [];
  const files: Record<string, string> = {};
  const names = new Set(entries.map((e) => e.path));
  if (!names.has("flake.nix")) problems.push(`${shown} has no flake.nix; nix.flake.path names the folder that holds the flake's flake.nix`);
  if (!names.has("flake.lock")) {
    problems.push(
      `${shown} has no flake.lock: run \`nix flake lock\` in ${shown} and commit flake.lock, so that every host builds the same locked inputs ` +
        "(without it each host would lock them itself, to whatever they point at that day)",
    );
  }
  const regular = entries.filter((e): e is Extract<TreeEntry, { kind: "file" }> => e.kind === "file");
  if (regular.length > FLAKE_LIMITS.files) {
    problems.push(`${shown} holds ${regular.length} files, more than the ${FLAKE_LIMITS.files} a flake may ship to every host; does nix.flake.path name the flake's own folder?`);
    return { files: {}, problems };
  }
  let total = 0;
  for (const e of entries) {
    const where = `${shown}/${e.path}`;
    const reserved = RESERVED_FLAKE_FILES.find((r) => r.test(e.path));
    if (reserved) {
      problems.push(`${where} cannot be shipped: ${reserved.why}`);
      continue;
    }
    if (e.kind === "link-out") {
      problems.push(`${where} is a link to ${e.target}, outside the flake's folder (Nix would copy the link, not what it points at); copy the file into the folder instead`);
      continue;
    }
    if (e.kind === "other") {
      problems.push(`${where} is ${e.what}; a flake ships regular files only: remove it or replace it with a file`);
      continue;
    }
    if (e.size > FLAKE_LIMITS.fileBytes) {
      problems.push(`${where} has ${e.size} bytes, more than the ${FLAKE_LIMITS.fileBytes} one file of a flake may have; keep large data out of the flake`);
      continue;
    }
    total += e.size;
    const text = read(e.path);
    if (text.includes("\0") || text.includes("\uFFFD")) {
      problems.push(`${where} is not UTF-8 text; a flake ships text files only`);
      continue;
    }
    files[path.posix.normalize(e.path)] = text;
  }
  if (total > FLAKE_LIMITS.totalBytes) problems.push(`${shown} holds ${total} bytes of files, more than the ${FLAKE_LIMITS.totalBytes} a flake may ship to every host`);
  return { files, problems };
}
