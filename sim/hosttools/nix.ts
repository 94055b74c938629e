/**
 * `nix` on a simulated host. `nix store diff-closures BEFORE AFTER` answers from the closures
 * the simulated systems record (closure.ts, diff-closures.ts); every other command is handed to
 * Debian's real nix, which is what `nix` on the host's PATH ran before. As in the Nix of NixOS
 * 24.05 (2.18), the `nix` command is experimental: unless the nix-command feature is enabled (by
 * `--extra-experimental-features`, `--experimental-features`, `--option`, NIX_CONFIG, nix.conf,
 * or the running system's `nix.extraOptions`, which NixOS writes to nix.conf), it refuses with
 * Nix's own error.
 */
import * as fs from "node:fs";
import type { Io } from "./cli";
import { readClosure, type ClosurePath } from "./closure";
import { diffClosures } from "./diff-closures";
import { HOST } from "./paths";

/** Nix 2.18's refusal of an experimental command. */
export const NIX_COMMAND_DISABLED = "error: experimental Nix feature 'nix-command' is disabled; use '--extra-experimental-features nix-command' to override\n";

/** What the tool reads besides its arguments. */
export interface NixContext {
  /** nix.conf texts in the order Nix reads them (nix.conf, then NIX_CONFIG). */
  readonly configTexts: readonly string[];
  /** The store path a command-line path names; throws Nix's error when it names none. */
  readonly storePath: (arg: string) => string;
  readonly readClosure: (system: string) => ClosurePath[];
}

/** Settings of nix.conf text that set experimental features, in order. */
function featureSettings(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(extra-experimental-features|experimental-features)\s*=\s*(.*?)\s*$/.exec(line.replace(/#.*/, ""));
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

/** The command line without its settings flags, and the feature settings those flags made. */
export function splitArgs(argv: readonly string[]): { rest: string[]; settings: Array<[string, string]>; error?: string } {
  const rest: string[] = [];
  const settings: Array<[string, string]> = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--extra-experimental-features" || a === "--experimental-features") {
      if (i + 1 >= argv.length) return { rest, settings, error: `error: flag '${a}' requires 1 argument(s)\n` };
      settings.push([a.slice(2), argv[++i]]);
    } else if (a === "--option") {
      if (i + 2 >= argv.length) return { rest, settings, error: "error: flag '--option' requires 2 argument(s)\n" };
      const [name, value] = [argv[i + 1], argv[i + 2]];
      i += 2;
      if (name === "experimental-features" || name === "extra-experimental-features") settings.push([name, value]);
    } else rest.push(a);
  }
  return { rest, settings };
}

/** The experimental features in force after applying `settings` in order. */
export function enabledFeatures(settings: ReadonlyArray<readonly [string, string]>): Set<string> {
  let features = new Set<string>();
  for (const [name, value] of settings) {
    const list = value.split(/\s+/).filter((f) => f !== "");
    if (name === "experimental-features") features = new Set(list);
    else for (const f of list) features.add(f);
  }
  return features;
}

/** Runs `nix ARGS`; "forward" when the real nix is to run it. */
export function nix(argv: readonly string[], io: Io, ctx: NixContext): number | "forward" {
  const { rest, settings, error } = splitArgs(argv);
  if (rest[0] !== "store" || rest[1] !== "diff-closures") return "forward";
  if (error) {
    io.err(`${error}Try 'nix --help' for more information.\n`);
    return 1;
  }
  const flag = rest.slice(2).find((a) => a.startsWith("-"));
  if (flag) {
    io.err(`error: unrecognised flag '${flag}'\nTry 'nix --help' for more information.\n`);
    return 1;
  }
  const features = enabledFeatures([...ctx.configTexts.flatMap(featureSettings), ...settings]);
  if (!features.has("nix-command")) {
    io.err(NIX_COMMAND_DISABLED);
    return 1;
  }
  const paths = rest.slice(2);
  if (paths.length !== 2) {
    io.err(paths.length < 2 ? "error: more arguments are required\nTry 'nix --help' for more information.\n" : `error: unexpected argument '${paths[2]}'\nTry 'nix --help' for more information.\n`);
    return 1;
  }
  try {
    const [before, after] = paths.map((p) => ctx.readClosure(ctx.storePath(p)));
    for (const line of diffClosures(before, after)) io.out(`${line}\n`);
    return 0;
  } catch (e) {
    io.err(`${(e as Error).message}\n`);
    return 1;
  }
}

/** A command-line path as the store path it names, with Nix's errors for those it does not. */
export function hostStorePath(arg: string): string {
  let real: string;
  try {
    real = fs.realpathSync(arg);
  } catch {
    throw new Error(`error: getting status of '${arg}': No such file or directory`);
  }
  if (!real.startsWith(`${HOST.store}/`)) throw new Error(`error: path '${real}' is not in the Nix store`);
  return real.split("/").slice(0, 4).join("/");
}

/** The closure a simulated system recorded, with an error naming the path when it recorded none. */
export function hostClosure(system: string): ClosurePath[] {
  try {
    return readClosure(system);
  } catch (e) {
    throw new Error(`error: the simulated store records no closure for '${system}' (only systems built by the simulated nixos-rebuild have one): ${(e as Error).message}`);
  }
}
