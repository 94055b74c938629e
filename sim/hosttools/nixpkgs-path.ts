/**
 * Which nixpkgs a rebuild evaluates: the lookup of `<nixpkgs/nixos>` in Nix's search path,
 * the way Nix 2.18 does it. `-I` entries come first, in order, then $NIX_PATH (NixOS's
 * default when unset); the first entry whose prefix matches and whose path holds
 * `nixos` wins. A URL entry is downloaded (channel-table.ts serves the simulated channels);
 * one that cannot be downloaded is skipped with Nix's warning, and so is a path that does
 * not exist. The lookup is pure: the file system and downloads come in through `SearchProbe`.
 */
import * as path from "node:path";
import { fetchChannel, isUrl, type ChannelPin, type ChannelTable } from "./channel-table";
import { HOST } from "./paths";

/** NixOS's default NIX_PATH (nix.nixPath), used when $NIX_PATH is unset or empty. */
export const NIXOS_DEFAULT_NIX_PATH = [
  `nixpkgs=${HOST.channelsProfile}/nixos`,
  `nixos-config=${HOST.defaultConfig}`,
  HOST.channelsProfile,
] as const;

/** What the lookup needs to know about the host. */
export interface SearchProbe {
  exists(p: string): boolean;
  /** The channel revision a nixpkgs tree holds; undefined when it is no simulated channel tree. */
  treePin(p: string): ChannelPin | undefined;
}

export type NixpkgsLookup =
  | { readonly kind: "channel"; readonly pin: ChannelPin; readonly warnings: readonly string[] }
  /** No entry provides nixpkgs: Nix's "file 'nixpkgs' was not found" error. */
  | { readonly kind: "not-found"; readonly warnings: readonly string[]; readonly message: string }
  /** An entry provides a nixpkgs tree the simulation cannot evaluate. */
  | { readonly kind: "not-simulated"; readonly warnings: readonly string[]; readonly message: string };

/**
 * Splits $NIX_PATH at colons, as Nix does, except where a colon starts a URL's "//"
 * (nixpkgs=https://…) or ends the `channel:` scheme.
 */
export function parseNixPath(value: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === ":" && !value.startsWith("//", i + 1) && !/(^|=)channel$/.test(cur)) {
      out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out.filter((e) => e !== "");
}

/** The search path a rebuild uses: its -I entries, then $NIX_PATH or NixOS's default. */
export function searchPath(includePaths: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const fromEnv = parseNixPath(env.NIX_PATH ?? "");
  return [...includePaths, ...(fromEnv.length > 0 ? fromEnv : NIXOS_DEFAULT_NIX_PATH)];
}

/** Looks up `<nixpkgs/nixos>` along `entries`; `cwd` resolves relative paths. */
export function lookupNixpkgs(entries: readonly string[], table: ChannelTable, probe: SearchProbe, cwd: string): NixpkgsLookup {
  const wanted = "nixpkgs/nixos";
  const warnings: string[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const prefix = eq < 0 ? "" : entry.slice(0, eq);
    const value = eq < 0 ? entry : entry.slice(eq + 1);
    let rest: string;
    if (prefix === "") rest = wanted;
    else if (wanted === prefix) rest = "";
    else if (wanted.startsWith(`${prefix}/`)) rest = wanted.slice(prefix.length + 1);
    else continue;
    if (isUrl(value)) {
      const download = fetchChannel(table, value);
      if (!download.ok) {
        warnings.push(`warning: Nix search path entry '${value}' cannot be downloaded, ignoring`);
        continue;
      }
      // A channel tarball unpacks to a nixpkgs tree: only `nixpkgs=URL` (rest "nixos") finds nixos in it.
      if (rest === "nixos") return { kind: "channel", pin: download.pin, warnings };
      continue;
    }
    const root = path.resolve(cwd, value);
    if (!probe.exists(root)) {
      warnings.push(`warning: Nix search path entry '${value}' does not exist, ignoring`);
      continue;
    }
    const found = rest === "" ? root : path.join(root, rest);
    if (!probe.exists(found)) continue;
    const tree = path.dirname(found);
    const pin = probe.treePin(tree);
    if (!pin) {
      return {
        kind: "not-simulated",
        warnings,
        message: `nixos-rebuild: ${tree} (search path entry '${entry}') is not a nixpkgs tree of a channel this simulated host knows: only the channels in sim/nix/channels.json can be evaluated`,
      };
    }
    return { kind: "channel", pin, warnings };
  }
  return { kind: "not-found", warnings, message: "error: file 'nixpkgs/nixos' was not found in the Nix search path (add it using $NIX_PATH or -I)" };
}
