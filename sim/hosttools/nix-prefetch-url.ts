/**
 * nix-prefetch-url on a simulated host, for what a channel upgrade prefetches:
 *
 *   nix-prefetch-url --unpack [--print-path] [--type sha256] [--name N] URL [HASH]
 *
 * with URL a channel's tarball (…/channels/nixos-24.11/nixexprs.tar.xz). Like Nix it
 * prints the sha256 in base 32 on stdout, then with --print-path the store path (otherwise
 * "path is '…'" on stderr). The unpacked tarball is the channel's latest revision as a
 * nixpkgs tree (channel.ts), named after the URL's last element as Nix names it, so the same
 * revision always lands at the same path. A channel that does not exist fails with Nix's
 * HTTP 404 error and creates nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeNixpkgsTree } from "./channel";
import { CHANNEL_TARBALL, channelOfUrl, fetchChannel, tarballHash, type ChannelTable } from "./channel-table";
import type { Io } from "./cli";
import { storeHash } from "./storehash";

export interface PrefetchArgs {
  readonly url: string;
  readonly expectedHash?: string;
  readonly unpack: boolean;
  readonly printPath: boolean;
  readonly name?: string;
  readonly hashType: string;
}

/** Parses the command line; a string is the usage error to print. */
export function parsePrefetchArgs(argv: readonly string[], env: NodeJS.ProcessEnv): PrefetchArgs | string {
  let unpack = false;
  let printPath = env.PRINT_PATH === "1";
  let name: string | undefined;
  let hashType = "sha256";
  const args: string[] = [];
  const rest = [...argv];
  while (rest.length > 0) {
    const a = rest.shift() as string;
    if (a === "--unpack") unpack = true;
    else if (a === "--print-path") printPath = true;
    else if (a === "--type" || a === "--name") {
      const v = rest.shift();
      if (v === undefined) return `flag '${a}' requires 1 argument`;
      if (a === "--type") hashType = v;
      else name = v;
    } else if (a.startsWith("-") && a !== "") return `unrecognised flag '${a}'`;
    else args.push(a);
  }
  if (args.length > 2) return "too many arguments";
  if (args.length === 0) return "you must specify a URL";
  return { url: args[0], expectedHash: args[1], unpack, printPath, name, hashType };
}

/** Runs one nix-prefetch-url command line in `store`; returns its exit status. */
export function nixPrefetchUrl(argv: readonly string[], env: NodeJS.ProcessEnv, table: ChannelTable, store: string, io: Io): number {
  const parsed = parsePrefetchArgs(argv, env);
  if (typeof parsed === "string") {
    io.err(`error: ${parsed}\nTry 'nix-prefetch-url --help' for more information.\n`);
    return 1;
  }
  if (parsed.hashType !== "sha256") {
    io.err(`nix-prefetch-url: --type ${parsed.hashType} is not simulated on this host; only sha256 is\n`);
    return 1;
  }
  const download = fetchChannel(table, parsed.url);
  if (!download.ok) {
    io.err(`error: ${download.message}\n`);
    return 1;
  }
  const lastElement = parsed.url.replace(/[?#].*$/, "").split("/").pop() ?? "";
  if (lastElement !== CHANNEL_TARBALL || !parsed.unpack) {
    io.err(`nix-prefetch-url: only \`--unpack …/${channelOfUrl(parsed.url) ?? "<channel>"}/${CHANNEL_TARBALL}\` is simulated on this host (a channel's tarball, unpacked)\n`);
    return 1;
  }
  const hash = tarballHash(download.pin);
  if (parsed.expectedHash !== undefined && parsed.expectedHash !== hash) {
    io.err(`error: hash mismatch in file downloaded from '${parsed.url}':\n         specified: sha256:${parsed.expectedHash}\n         got:       sha256:${hash}\n`);
    return 1;
  }
  const name = parsed.name ?? lastElement;
  // Nix names an unpacked download by its content hash and name only (a fixed-output path).
  const storePath = path.posix.join(store, `${storeHash("fixed-output", { method: "recursive", algo: "sha256", hash, name })}-${name}`);
  if (!fs.existsSync(storePath)) writeNixpkgsTree(storePath, table, download.pin);
  if (!parsed.printPath) io.err(`path is '${storePath}'\n`);
  io.out(`${hash}\n`);
  if (parsed.printPath) io.out(`${storePath}\n`);
  return 0;
}
