/**
 * Finding the static NixOS modules (nix/*.nix) shipped with the project, whether the code runs
 * compiled from dist/ or from the sources.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import type { StaticModuleName } from "./render";

/** The project's nix/ folder: the nearest ancestor of this file holding nix/base.nix. */
export function nixModulesDir(from: string = __dirname): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, "nix");
    if (existsSync(path.join(candidate, "base.nix"))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the nixos-fleet nix/ folder (with base.nix) above ${from}; is the package installed completely?`);
}

/** Contents of every static module, read through `readFile`. */
export function readStaticModules(readFile: (p: string) => string, dir: string = nixModulesDir()): Record<StaticModuleName, string> {
  const read = (m: StaticModuleName) => readFile(path.join(dir, m));
  return { "base.nix": read("base.nix"), "k3s.nix": read("k3s.nix"), "guard.nix": read("guard.nix") };
}
