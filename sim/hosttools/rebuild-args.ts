/**
 * The command line of nixos-rebuild, accepted and refused the way NixOS 24.05's script
 * does: one action, the same options (with their arguments), "unknown option" for the rest.
 */

/** Actions the real script knows. */
export const REBUILD_ACTIONS = [
  "switch", "boot", "test", "build", "edit", "repl", "dry-build", "dry-activate",
  "build-vm", "build-vm-with-bootloader", "list-generations",
] as const;
export type RebuildActionName = (typeof REBUILD_ACTIONS)[number];

/** Actions the simulated host carries out; the others are refused with an explanation. */
export const SIMULATED_ACTIONS: readonly RebuildActionName[] = ["switch", "boot", "test", "build", "dry-build", "dry-activate", "list-generations"];

/** Actions that run switch-to-configuration. */
export function activates(action: RebuildActionName): action is "switch" | "boot" | "test" | "dry-activate" {
  return action === "switch" || action === "boot" || action === "test" || action === "dry-activate";
}

/** Actions that make the new system the profile's current generation. */
export function setsProfile(action: RebuildActionName): action is "switch" | "boot" {
  return action === "switch" || action === "boot";
}

export interface RebuildArgs {
  readonly action: RebuildActionName;
  readonly rollback: boolean;
  readonly upgrade: boolean;
  readonly upgradeAll: boolean;
  /** --fast / --no-build-nix: skip "building Nix...". */
  readonly buildNix: boolean;
  readonly verbose: boolean;
  readonly showTrace: boolean;
  readonly json: boolean;
  readonly noFlake: boolean;
  /** `--flake <flake>[#<name>]`, as given. */
  readonly flake?: string;
  readonly includePaths: readonly string[];
  readonly nixOptions: ReadonlyArray<readonly [string, string]>;
  /** Options the simulation cannot honour (flakes, remote hosts...): refused after parsing. */
  readonly unsupported: readonly string[];
}

export type ParsedRebuildArgs =
  | { readonly kind: "ok"; readonly args: RebuildArgs }
  /** The script would `exec man nixos-rebuild`. */
  | { readonly kind: "usage" }
  /** The script exits 1, printing `message` (possibly nothing). */
  | { readonly kind: "error"; readonly message: string };

const FLAGS_ACCEPTED = new Set([
  "--accept-flake-config", "--quiet", "--print-build-logs", "-L", "--no-build-output", "-Q", "--refresh",
  "--impure", "--offline", "--no-net", "--keep-going", "-k", "--keep-failed", "-K", "--fallback", "--repair",
  "--use-substitutes", "--substitute-on-destination", "-s", "--install-bootloader", "--use-remote-sudo",
  "--no-ssh-tty", "--recreate-lock-file", "--no-update-lock-file", "--no-write-lock-file",
  "--no-registries", "--commit-lock-file",
]);
const ONE_VALUE_IGNORED = new Set(["--builders", "--max-jobs", "-j", "--cores", "--log-format", "--update-input"]);
const TWO_VALUES_IGNORED = new Set(["--override-input", "--arg", "--argstr"]);
const VERBOSE = new Set(["--verbose", "-v", "-vv", "-vvv", "-vvvv", "-vvvvv"]);

/** Parses nixos-rebuild's arguments; `argv0` is how the program was invoked (bash's $0). */
export function parseRebuildArgs(argv: readonly string[], argv0: string): ParsedRebuildArgs {
  let action: RebuildActionName | undefined;
  let rollback = false, upgrade = false, upgradeAll = false, buildNix = true, verbose = false, showTrace = false, json = false, noFlake = false;
  let flake: string | undefined;
  const includePaths: string[] = [];
  const nixOptions: Array<readonly [string, string]> = [];
  const unsupported: string[] = [];
  const rest = [...argv];
  // `shift 1` with nothing left fails under `set -e`: the script exits 1 silently.
  const take = (): string | undefined => rest.shift();
  while (rest.length > 0) {
    const i = rest.shift() as string;
    if ((REBUILD_ACTIONS as readonly string[]).includes(i) || i === "dry-run") {
      if (action !== undefined) return { kind: "usage" };
      action = (i === "dry-run" ? "dry-build" : i) as RebuildActionName;
      if (action === "list-generations") buildNix = false;
    } else if (i === "--help") {
      return { kind: "usage" };
    } else if (i === "--file" || i === "-f" || i === "--attr" || i === "-A") {
      const v = take();
      if (!v) return { kind: "error", message: `${argv0}: '${i}' requires an argument` };
      unsupported.push(`${i} ${v}`);
    } else if (i === "--install-grub") {
      return { kind: "error", message: `${argv0}: --install-grub deprecated, use --install-bootloader instead` };
    } else if (i === "--no-build-nix") {
      buildNix = false;
    } else if (i === "--fast") {
      buildNix = false;
    } else if (i === "--rollback") {
      rollback = true;
    } else if (i === "--upgrade") {
      upgrade = true;
    } else if (i === "--upgrade-all") {
      upgrade = true;
      upgradeAll = true;
    } else if (i === "-I") {
      const v = take();
      if (v === undefined) return { kind: "error", message: "" };
      includePaths.push(v);
    } else if (ONE_VALUE_IGNORED.has(i)) {
      if (take() === undefined) return { kind: "error", message: "" };
    } else if (TWO_VALUES_IGNORED.has(i)) {
      if (take() === undefined || take() === undefined) return { kind: "error", message: "" };
    } else if (i === "--option") {
      const name = take();
      const value = take();
      if (name === undefined || value === undefined) return { kind: "error", message: "" };
      nixOptions.push([name, value]);
    } else if (i === "--show-trace") {
      showTrace = true;
    } else if (VERBOSE.has(i)) {
      verbose = true;
    } else if (i === "--json") {
      json = true;
    } else if (i === "--no-flake") {
      noFlake = true;
    } else if (/^-j/.test(i) || FLAGS_ACCEPTED.has(i)) {
      // Build tuning and flake lock flags: accepted, nothing to tune here.
    } else if (i === "--profile-name" || i === "-p" || i === "--specialisation" || i === "-c") {
      const v = take();
      if (!v) return { kind: "error", message: `${argv0}: ‘${i.startsWith("--p") || i === "-p" ? "--profile-name" : "--specialisation"}’ requires an argument` };
      if (!(i.startsWith("--p") || i === "-p") || v !== "system") unsupported.push(`${i} ${v}`);
    } else if (i === "--flake") {
      const v = take();
      if (v === undefined) return { kind: "error", message: "" };
      flake = v;
    } else if (i === "--build-host" || i === "--target-host") {
      const v = take();
      if (v === undefined) return { kind: "error", message: "" };
      unsupported.push(`${i} ${v}`);
    } else {
      return { kind: "error", message: `${argv0}: unknown option \`${i}'` };
    }
  }
  if (action === undefined) return { kind: "usage" };
  return { kind: "ok", args: { action, rollback, upgrade, upgradeAll, buildNix, verbose, showTrace, json, noFlake, ...(flake !== undefined ? { flake } : {}), includePaths, nixOptions, unsupported } };
}

/** What `man nixos-rebuild` would show first; printed instead of the manual page. */
export const REBUILD_SYNOPSIS = `Usage: nixos-rebuild [--verbose] [--show-trace] [--option NAME VALUE] [-I PATH]
                     [--fast] [--no-build-nix] [--rollback] [--upgrade] [--upgrade-all]
                     {switch | boot | test | build | dry-build | dry-activate | list-generations}

  switch        build the configuration, make it the boot default and activate it
  boot          build the configuration and make it the boot default
  test          build the configuration and activate it, without changing the boot default
  build         build the configuration and leave a ./result symlink
  dry-build     show what would be built
  dry-activate  build and show what activating it would change
  list-generations  list the generations of the system profile

(simulated NixOS host: this summary stands in for the nixos-rebuild(8) manual page)
`;
