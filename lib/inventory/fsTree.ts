/**
 * The files of a folder on this machine, as the inventory reads a flake's folder: every regular
 * file by its path relative to the folder, and what else is there (links out of the folder,
 * pipes, devices) so that it can be refused by name. The one side-effecting part of reading a
 * flake; flakeFiles.ts decides what is shipped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SKIPPED_FLAKE_FOLDERS } from "../nixos/flake";

/** One thing found under the folder; `path` is relative to it, with '/' separators. */
export type TreeEntry =
  | { readonly kind: "file"; readonly path: string; readonly size: number }
  /** A symbolic link whose target is outside the folder (or does not exist). */
  | { readonly kind: "link-out"; readonly path: string; readonly target: string }
  /** Anything that is neither a regular file nor a folder: a link to a folder, a pipe, a socket, a device. */
  | { readonly kind: "other"; readonly path: string; readonly what: string };

/** Everything under `root`, sorted by path; throws as fs does when `root` cannot be read. */
export function readTree(root: string): TreeEntry[] {
  const real = fs.realpathSync(root);
  if (!fs.statSync(real).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, scandir '${root}'`), { code: "ENOTDIR" });
  const out: TreeEntry[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const full = path.join(dir, name);
      const st = fs.lstatSync(full);
      if (st.isDirectory()) {
        if (rel === "" && SKIPPED_FLAKE_FOLDERS.includes(name)) continue;
        walk(full, relPath);
      } else if (st.isFile()) {
        out.push({ kind: "file", path: relPath, size: st.size });
      } else if (st.isSymbolicLink()) {
        out.push(linkEntry(real, full, relPath));
      } else {
        out.push({ kind: "other", path: relPath, what: st.isFIFO() ? "a named pipe" : st.isSocket() ? "a socket" : "a device" });
      }
    }
  };
  walk(real, "");
  return out;
}

/** A link inside the folder to a file inside it is shipped as that file's contents. */
function linkEntry(root: string, full: string, relPath: string): TreeEntry {
  const target = fs.readlinkSync(full);
  let resolved: string;
  try {
    resolved = fs.realpathSync(full);
  } catch {
    return { kind: "link-out", path: relPath, target };
  }
  if (resolved !== root && !resolved.startsWith(root + path.sep)) return { kind: "link-out", path: relPath, target };
  const st = fs.statSync(resolved);
  return st.isFile() ? { kind: "file", path: relPath, size: st.size } : { kind: "other", path: relPath, what: "a link to a folder" };
}
