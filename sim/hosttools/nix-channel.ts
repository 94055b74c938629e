/**
 * nix-channel and nix-collect-garbage on a simulated host. They shadow Debian's real
 * binaries, which would download channels into the shared /root or collect garbage in the
 * machine's own Nix database: here --update moves to the next simulated revision
 * (channel.ts) and garbage collection only deletes old system profile generations.
 * The channel list is kept in the host's /var/lib/nixos-sim/nix-channels ("name url" lines).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadChannelTable, upgradeChannel } from "./channel";
import type { Io } from "./cli";
import { HOST } from "./paths";
import { deleteGenerations, ProfileError } from "./profile";

const CHANNEL_LIST = "/var/lib/nixos-sim/nix-channels";

function readList(): Array<[string, string]> {
  try {
    return fs
      .readFileSync(CHANNEL_LIST, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => {
        const [url, name] = l.trim().split(/\s+/);
        return [name ?? "", url ?? ""];
      });
  } catch {
    return [];
  }
}

function writeList(list: ReadonlyArray<readonly [string, string]>): void {
  fs.mkdirSync(path.dirname(CHANNEL_LIST), { recursive: true });
  fs.writeFileSync(CHANNEL_LIST, list.map(([name, url]) => `${url} ${name}\n`).join(""));
}

/** The name nix-channel gives a channel URL: its last path element without "-unstable". */
export function channelName(url: string): string {
  return (url.replace(/\/+$/, "").split("/").pop() ?? "").replace(/-unstable$/, "").replace(/-[0-9]+\.[0-9]+$/, "");
}

/** Runs one nix-channel command line; returns its exit status. */
export function nixChannel(argv: readonly string[], io: Io): number {
  const [op, ...args] = argv;
  switch (op) {
    case "--list":
    case "-l":
      io.out(readList().map(([name, url]) => `${name} ${url}\n`).join(""));
      return 0;
    case "--add": {
      const [url, name = channelName(args[0] ?? "")] = args;
      if (!url) {
        io.err("error: '--add' requires one or two arguments\n");
        return 1;
      }
      writeList([...readList().filter(([n]) => n !== name), [name, url]]);
      return 0;
    }
    case "--remove": {
      if (args.length !== 1) {
        io.err("error: '--remove' requires one argument\n");
        return 1;
      }
      writeList(readList().filter(([n]) => n !== args[0]));
      return 0;
    }
    case "--update":
      if (args.length === 0 || args.includes("nixos")) upgradeChannel(loadChannelTable());
      io.err("unpacking channels...\n");
      return 0;
    default:
      io.err(op === undefined ? "error: no operation specified\n" : `error: unknown flag '${op}'\n`);
      return 1;
  }
}

/** Runs one nix-collect-garbage command line; returns its exit status. */
export function nixCollectGarbage(argv: readonly string[], io: Io): number {
  let spec: string | undefined;
  let dryRun = false;
  const rest = [...argv];
  while (rest.length > 0) {
    const a = rest.shift() as string;
    if (a === "-d" || a === "--delete-old") spec = "old";
    else if (a === "--delete-older-than") spec = rest.shift();
    else if (a === "--dry-run") dryRun = true;
    else {
      io.err(`error: unrecognised flag '${a}'\n`);
      return 1;
    }
  }
  if (spec !== undefined && !dryRun) {
    io.err(`removing old generations of profile ${HOST.systemProfile}\n`);
    try {
      for (const n of deleteGenerations(HOST.systemProfile, [spec])) io.err(`removing profile version ${n}\n`);
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      io.err(`error: ${e.message}\n`);
      return 1;
    }
  }
  io.err("finding garbage collector roots...\ndeleting garbage...\ndeleting unused links...\nnote: currently hard linking saves 0.00 MiB\n0 store paths deleted, 0.00 MiB freed\n");
  return 0;
}
