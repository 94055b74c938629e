/**
 * nix-channel and nix-collect-garbage on a simulated host. They shadow Debian's real
 * binaries, which would download channels into the shared /root or collect garbage in the
 * machine's own Nix database: here --update fetches the simulated channels (channel.ts)
 * and garbage collection only deletes old system profile generations. The channel list is
 * kept in the host's /var/lib/nixos-sim/nix-channels (channel-list.ts).
 */
import * as path from "node:path";
import { updateChannels, uninstallChannel } from "./channel";
import { defaultChannelName, readChannelList, writeChannelList } from "./channel-list";
import { loadChannelTable } from "./channel-table";
import { ownSystem, type Io } from "./cli";
import { HOST } from "./paths";
import { deleteGenerations, ProfileError, switchGeneration } from "./profile";

type Operation = "add" | "remove" | "list" | "update" | "rollback";

const OPERATIONS: Readonly<Record<string, Operation>> = {
  "--add": "add",
  "--remove": "remove",
  "--list": "list",
  "--update": "update",
  "--rollback": "rollback",
};

/** nix-channel's usage errors: the message, then where to get help. */
function usage(io: Io, message: string): number {
  io.err(`error: ${message}\nTry 'nix-channel --help' for more information.\n`);
  return 1;
}

/**
 * Where nix-channel finds nix-env, which it runs for --rollback (Nix's nixBinDir: the
 * bin folder of the system's Nix package; here the system's sw/bin).
 */
function nixEnvProgram(): string {
  return path.posix.join(ownSystem() ?? HOST.currentSystem, "sw", "bin", "nix-env");
}

/** Runs one nix-channel command line; returns its exit status. */
export function nixChannel(argv: readonly string[], io: Io): number {
  let op: Operation | undefined;
  const args: string[] = [];
  for (const a of argv) {
    if (Object.hasOwn(OPERATIONS, a)) op = OPERATIONS[a];
    else if (a.startsWith("-")) return usage(io, `unsupported argument '${a}'`);
    else args.push(a);
  }
  switch (op) {
    case undefined:
      return usage(io, "no command specified");
    case "list":
      if (args.length > 0) return usage(io, "'--list' expects no arguments");
      io.out(readChannelList().map((e) => `${e.name} ${e.url}\n`).join(""));
      return 0;
    case "add": {
      if (args.length < 1 || args.length > 2) return usage(io, "'--add' requires one or two arguments");
      const [url, name = defaultChannelName(url)] = args;
      if (!/^(file|http|https):\/\//.test(url)) return fail(io, `invalid channel URL '${url}'`);
      if (!/^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/.test(name)) return fail(io, `invalid channel identifier '${name}'`);
      writeChannelList([...readChannelList().filter((e) => e.name !== name), { name, url }]);
      return 0;
    }
    case "remove":
    {
      if (args.length !== 1) return usage(io, "'--remove' requires one argument");
      writeChannelList(readChannelList().filter((e) => e.name !== args[0]));
      const removed = uninstallChannel(args[0]);
      if (removed !== undefined) io.err(`uninstalling '${removed}'\n`);
      return 0;
    }
    case "update":
      return updateCommand(args, io);
    case "rollback": {
      if (args.length > 1) return usage(io, "'--rollback' has at most one argument");
      // nix-channel runs `nix-env --profile <channels> --rollback` (or --switch-generation N).
      if (args.length === 1 && !/^\d+$/.test(args[0])) {
        io.err("error: expected a generation number\nTry 'nix-env --help' for more information.\n");
        return nixEnvFailed(io);
      }
      try {
        io.err(`${switchGeneration(HOST.channelsProfile, args.length === 1 ? Number(args[0]) : "previous").message}\n`);
      } catch (e) {
        if (!(e instanceof ProfileError)) throw e;
        io.err(`error: ${e.message}\n`);
        return nixEnvFailed(io);
      }
      return 0;
    }
  }
}

function fail(io: Io, message: string): number {
  io.err(`error: ${message}\n`);
  return 1;
}

function nixEnvFailed(io: Io): number {
  return fail(io, `program '${nixEnvProgram()}' failed with exit code 1`);
}

/**
 * `nix-channel --update [names]` (also run by `nixos-rebuild --upgrade`): a channel that
 * cannot be downloaded fails with Nix's error before the profile is touched.
 */
export function updateCommand(names: readonly string[], io: Io): number {
  const result = updateChannels(loadChannelTable(), names);
  if (!result.ok) return fail(io, result.message);
  io.err("unpacking channels...\n");
  return 0;
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
