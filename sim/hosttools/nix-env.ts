/**
 * nix-env on a simulated host, for the system profile only: --list-generations,
 * --rollback, --switch-generation, --set and --delete-generations, with Nix's wording.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { processIo, runProgram, type Io } from "./cli";
import { HOST } from "./paths";
import { currentGeneration, deleteGenerations, formatGenerations, listGenerations, ProfileError, setProfile, switchGeneration } from "./profile";

type Operation =
  | { readonly op: "list-generations" }
  | { readonly op: "rollback" }
  | { readonly op: "switch-generation"; readonly generation: string }
  | { readonly op: "set"; readonly path: string }
  | { readonly op: "delete-generations"; readonly specs: readonly string[] };

const PROFILE_OPS = new Set(["--list-generations", "--rollback", "--switch-generation", "-G", "--set", "--delete-generations"]);
const OTHER_OPS = new Set(["-i", "--install", "-e", "--uninstall", "-u", "--upgrade", "-q", "--query", "--set-flag", "--switch-profile", "-S"]);
const IGNORED_FLAGS = new Set(["--quiet", "-Q", "-v", "--verbose", "--show-trace", "--dry-run", "--no-build-output"]);

function fail(io: Io, message: string): number {
  io.err(`error: ${message}\n`);
  return 1;
}

/** Runs one nix-env command line; returns its exit status. */
export function nixEnv(argv: readonly string[], io: Io, cwd: string = process.cwd()): number {
  let profile: string | undefined;
  let operation: Operation | undefined;
  const rest = [...argv];
  const operands: string[] = [];
  while (rest.length > 0) {
    const a = rest.shift() as string;
    if (a === "-p" || a === "--profile") {
      const v = rest.shift();
      if (v === undefined) return fail(io, `flag '${a}' requires 1 argument`);
      profile = path.resolve(cwd, v);
    } else if (PROFILE_OPS.has(a)) {
      if (operation) return fail(io, "only one operation may be specified");
      if (a === "--switch-generation" || a === "-G") {
        const v = rest.shift();
        if (v === undefined) return fail(io, `flag '${a}' requires 1 argument`);
        operation = { op: "switch-generation", generation: v };
      } else if (a === "--set") {
        operation = { op: "set", path: "" };
      } else {
        operation = a === "--list-generations" ? { op: "list-generations" } : a === "--rollback" ? { op: "rollback" } : { op: "delete-generations", specs: [] };
      }
    } else if (OTHER_OPS.has(a)) {
      return fail(io, `'${a}' is not available on a simulated NixOS host: its nix-env only manages the system profile (-p ${HOST.systemProfile})`);
    } else if (IGNORED_FLAGS.has(a)) {
      continue;
    } else if (a.startsWith("-")) {
      return fail(io, `unrecognised flag '${a}'\nTry 'nix-env --help' for more information.`);
    } else {
      operands.push(a);
    }
  }
  if (!operation) return fail(io, "no operation specified\nTry 'nix-env --help' for more information.");
  if (profile !== HOST.systemProfile) {
    return fail(io, `on a simulated NixOS host nix-env only manages the system profile; pass -p ${HOST.systemProfile}`);
  }
  try {
    return run(operation, operands, profile, io);
  } catch (e) {
    if (e instanceof ProfileError) return fail(io, e.message);
    throw e;
  }
}

function run(operation: Operation, operands: readonly string[], profile: string, io: Io): number {
  switch (operation.op) {
    case "list-generations":
      io.out(formatGenerations(listGenerations(profile), currentGeneration(profile)));
      return 0;
    case "rollback":
      io.err(`${switchGeneration(profile, "previous").message}\n`);
      return 0;
    case "switch-generation": {
      if (!/^\d+$/.test(operation.generation)) return fail(io, `invalid number '${operation.generation}'`);
      io.err(`${switchGeneration(profile, Number(operation.generation)).message}\n`);
      return 0;
    }
    case "set": {
      if (operands.length !== 1) return fail(io, "--set requires exactly one argument");
      const target = path.resolve(operands[0]);
      if (!target.startsWith(`${HOST.store}/`)) return fail(io, `path '${target}' is not in the Nix store`);
      if (!fs.existsSync(target)) return fail(io, `path '${target}' is not valid`);
      setProfile(profile, target);
      return 0;
    }
    case "delete-generations":
      for (const n of deleteGenerations(profile, operands)) io.err(`removing profile version ${n}\n`);
      return 0;
  }
}

if (require.main === module) {
  runProgram("nix-env", async (argv) => nixEnv(argv, processIo));
}
