/**
 * Flakes on a simulated host, the pure part: nixos-rebuild's `--flake` argument, the local
 * folder a flake reference names, and which of the flake's locked inputs are nixpkgs revisions
 * the simulated channels hold (sim/nix/channels.json), to be served by a local stand-in.
 */
import * as path from "node:path";
import { type ChannelPin, type ChannelTable, latestPin, notFoundMessage } from "./channel-table";

/** A flake and the configuration of it nixos-rebuild builds. */
export interface FlakeTarget {
  /** The flake reference, as given (`path:/etc/nixos`, `/etc/nixos`, `.`). */
  readonly flake: string;
  /** The name under nixosConfigurations. */
  readonly configuration: string;
}

/**
 * nixos-rebuild's reading of `--flake`: everything before the last `#` is the flake, after it
 * the configuration's name; without a name, the host's name (NixOS's script reads the hostname,
 * "default" when it is empty).
 */
export function flakeTarget(arg: string, hostname: string): FlakeTarget {
  const m = /^(.*)#([^#"]*)$/.exec(arg);
  const flake = m ? m[1] : arg;
  const name = m && m[2] !== "" ? m[2] : hostname || "default";
  return { flake, configuration: name };
}

/** The attribute nixos-rebuild builds of a flake's configuration. */
export function toplevelAttr(configuration: string): string {
  return `nixosConfigurations."${configuration}".config.system.build.toplevel`;
}

/**
 * The folder on this host a flake reference names: `path:` and `git+file:` references and
 * plain paths. Undefined for references Nix would fetch (github:, https:, registry names).
 */
export function localFolder(ref: string, cwd: string): string | undefined {
  const strip = (s: string) => s.replace(/[?#].*$/, "");
  if (ref.startsWith("path:")) return path.resolve(cwd, strip(ref.slice("path:".length)));
  if (ref.startsWith("git+file://")) return strip(ref.slice("git+file://".length));
  if (ref.startsWith("/") || ref.startsWith(".")) return path.resolve(cwd, strip(ref));
  return undefined;
}

/** One root input of a flake locked to github:NixOS/nixpkgs at a revision. */
export type LockedNixpkgs =
  /** A revision of a simulated channel: served by the stand-in of that revision. */
  | { readonly kind: "served"; readonly input: string; readonly pin: ChannelPin; readonly rev: string; readonly original?: GithubRef }
  /** A revision no simulated channel has: GitHub would answer 404. */
  | { readonly kind: "unknown"; readonly input: string; readonly rev: string; readonly message: string };

/** A `github:` flake reference: owner, repository and the branch or tag it follows. */
export interface GithubRef {
  readonly owner: string;
  readonly repo: string;
  readonly ref?: string;
}

interface LockNode {
  readonly inputs?: Readonly<Record<string, string | readonly string[]>>;
  readonly locked?: { readonly type?: string; readonly owner?: string; readonly repo?: string; readonly rev?: string };
  readonly original?: { readonly type?: string; readonly owner?: string; readonly repo?: string; readonly ref?: string };
}

/**
 * The root inputs of `lockText` (a flake.lock) locked to github:NixOS/nixpkgs, and the simulated
 * channel revision each is (found by its locked rev). Inputs that follow another (`follows`) and
 * inputs of inputs are not listed. Throws on a lock file that is not JSON, as Nix would refuse it.
 */
export function lockedNixpkgs(lockText: string, table: ChannelTable): LockedNixpkgs[] {
  const lock = JSON.parse(lockText) as { readonly nodes?: Readonly<Record<string, LockNode>>; readonly root?: string };
  const nodes = lock.nodes ?? {};
  const root = nodes[lock.root ?? "root"];
  const out: LockedNixpkgs[] = [];
  for (const [input, target] of Object.entries(root?.inputs ?? {})) {
    if (typeof target !== "string") continue;
    const locked = nodes[target]?.locked;
    if (locked?.type !== "github" || locked.owner?.toLowerCase() !== "nixos" || locked.repo !== "nixpkgs" || locked.rev === undefined) continue;
    const pin = revisionPin(table, locked.rev);
    const o = nodes[target]?.original;
    const original = o?.type === "github" && o.owner && o.repo ? { owner: o.owner, repo: o.repo, ...(o.ref ? { ref: o.ref } : {}) } : undefined;
    out.push(
      pin
        ? { kind: "served", input, pin, rev: locked.rev, ...(original ? { original } : {}) }
        : { kind: "unknown", input, rev: locked.rev, message: notFoundMessage(`https://api.github.com/repos/${locked.owner}/nixpkgs/tarball/${locked.rev}`) },
    );
  }
  return out;
}

/** `github:owner/repo[/ref]` (a `?ref=` query too); undefined for other references. */
export function parseGithubUrl(url: string): GithubRef | undefined {
  const m = /^github:([^/?#]+)\/([^/?#]+)(?:\/([^?#]+))?(?:\?(.*))?$/.exec(url);
  if (!m) return undefined;
  const query = new URLSearchParams(m[4] ?? "");
  const ref = m[3] ?? query.get("ref") ?? undefined;
  return { owner: m[1], repo: m[2], ...(ref ? { ref } : {}) };
}

/**
 * A served input whose flake.nix now names another branch than its lock entry was made from:
 * Nix re-locks it, fetching that branch's head (a channel's latest revision here), as a host with
 * network would; a branch no simulated channel is fails as GitHub's 404 does. Inputs that
 * flake.nix still names as locked are left as they are.
 */
export function relocked(input: LockedNixpkgs, declaredUrl: string | undefined, table: ChannelTable): LockedNixpkgs {
  if (input.kind !== "served" || declaredUrl === undefined || input.original === undefined) return input;
  const declared = parseGithubUrl(declaredUrl);
  if (declared === undefined) return input;
  const same = (a: GithubRef, b: GithubRef) => a.owner.toLowerCase() === b.owner.toLowerCase() && a.repo === b.repo && (a.ref ?? "") === (b.ref ?? "");
  if (same(declared, input.original)) return input;
  const branch = declared.ref ?? "";
  const pin = declared.owner.toLowerCase() === "nixos" && declared.repo === "nixpkgs" ? latestPin(table, branch) : undefined;
  if (pin === undefined) {
    return { kind: "unknown", input: input.input, rev: branch, message: notFoundMessage(`https://api.github.com/repos/${declared.owner}/${declared.repo}/commits/${branch || "HEAD"}`) };
  }
  const rev = table.channels[pin.channel].revisions.find((r) => r.suffix === pin.suffix)?.rev ?? "";
  return { kind: "served", input: input.input, pin, rev, original: declared };
}

/** The simulated channel revision whose nixpkgs commit is `rev`. */
export function revisionPin(table: ChannelTable, rev: string): ChannelPin | undefined {
  for (const [channel, release] of Object.entries(table.channels)) {
    const r = release.revisions.find((x) => x.rev === rev);
    if (r) return { channel, suffix: r.suffix };
  }
  return undefined;
}

/**
 * Nix's own notes about the lock file it may not write, which `--override-input` causes here
 * and a real host (whose inputs are not overridden) never prints: dropped from what is shown.
 */
export function withoutOverrideNotes(stderr: string): string {
  const lines = stderr.split("\n");
  const out: string[] = [];
  let inNote = false;
  for (const line of lines) {
    if (line.startsWith("warning: not writing modified lock file of flake")) {
      inNote = true;
      continue;
    }
    if (inNote && (/^• (Updated|Added|Removed) input/.test(line) || /^\s+('|→ ')/.test(line))) continue;
    inNote = false;
    out.push(line);
  }
  return out.join("\n");
}
