/**
 * `nixos-rebuild --flake` on a simulated host: the real Nix (Debian's, where flakes are
 * experimental: enabled for this call only) evaluates the flake's configuration, with each
 * nixpkgs input that flake.lock locks to a simulated channel revision replaced by a local
 * stand-in of nixpkgs at that revision (a copy of sim/nix whose `lib.nixosSystem` is the
 * simulated module system). Nothing is downloaded: Nix runs in a network namespace of its own
 * (`unshare --net`), so inputs it would have to fetch fail as they do on a host without network,
 * wherever the host tools run.
 *
 * Nix copies the flake and the stand-in into the store it uses: on a simulated host that is the
 * host's own /nix/store and database (bind-mounted, sim/layout.ts), as on a real NixOS host.
 * Outside a simulated host this refuses rather than write into the machine's store.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ENV, hostPaths } from "../layout";
import type { BuildOutcome } from "./build";
import { type ChannelPin, loadChannelTable } from "./channel-table";
import { collectOutput, parseEvalResult } from "./evaluate";
import { type FlakeTarget, type LockedNixpkgs, localFolder, lockedNixpkgs, relocked, toplevelAttr, withoutOverrideNotes } from "./flake-lock";
import { HOST, NIX_INSTANTIATE, simNixDir } from "./paths";
import { planSystem } from "./plan";

/** The real Nix command (flakes need `nix`, not nix-instantiate). */
export const NIX = "/usr/bin/nix";
/** Gives Nix a network namespace without network. */
const UNSHARE = "/usr/bin/unshare";
/** Experimental in Nix 2.8; enabled for the simulated hosts' own calls only. */
const FEATURES = ["--extra-experimental-features", "nix-command flakes"];
/** Where a host keeps its nixpkgs stand-ins and root's Nix caches (its own /var/lib). */
const SIM_VAR = "/var/lib/nixos-sim";
const DEFAULT_TIMEOUT_MS = 120_000;

export interface FlakeRequest {
  readonly target: FlakeTarget;
  readonly cwd: string;
  readonly showTrace?: boolean;
  readonly nixOptions?: ReadonlyArray<readonly [string, string]>;
  readonly timeoutMs?: number;
}

/** The nix command line for a request and its overrides (also shown by `nixos-rebuild -v`). */
export function flakeEvalCommand(req: FlakeRequest, overrides: ReadonlyArray<{ input: string; folder: string }>): string[] {
  const args = [...FEATURES, "eval", "--json", "--no-write-lock-file"];
  if (req.showTrace) args.push("--show-trace");
  for (const [name, value] of req.nixOptions ?? []) args.push("--option", name, value);
  for (const o of overrides) args.push("--override-input", o.input, `path:${o.folder}`);
  args.push(`${req.target.flake}#${toplevelAttr(req.target.configuration)}`);
  return [NIX, ...args];
}

/** Evaluates the flake's configuration and plans the system it describes. */
export async function evaluateFlakeSystem(req: FlakeRequest, env: NodeJS.ProcessEnv = process.env): Promise<BuildOutcome> {
  const storeProblem = ownStoreProblem(env);
  if (storeProblem) return { ok: false, exitCode: 1, stderr: `nixos-rebuild: ${storeProblem}\n` };
  const locked = lockOf(req);
  if (!locked.ok) return { ok: false, exitCode: 1, stderr: locked.stderr };
  const unknown = locked.inputs.find((i): i is Extract<LockedNixpkgs, { kind: "unknown" }> => i.kind === "unknown");
  if (unknown) return { ok: false, exitCode: 1, stderr: `error: ${unknown.message}\n` };
  const overrides = locked.inputs.flatMap((i) => (i.kind === "served" ? [{ input: i.input, folder: writeStandIn(i.pin, i.rev) }] : []));
  const [command, ...args] = flakeEvalCommand(req, overrides);
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const unshared = ["--net", "--", command, ...args];
  const run = await collectOutput(UNSHARE, unshared, {
    env: { ...env, XDG_CACHE_HOME: path.join(SIM_VAR, "cache"), NIX_PATH: "" },
    cwd: req.cwd,
    timeoutMs,
    hung: `${unshared.join(" ")} did not finish evaluating the flake within ${timeoutMs} ms`,
    missing: `cannot run ${UNSHARE} ${unshared.slice(0, 2).join(" ")} (are util-linux's unshare and Debian's nix-bin installed?)`,
  });
  const stderr = withoutOverrideNotes(run.stderr);
  if (run.code !== 0) return { ok: false, exitCode: run.code, stderr };
  return { ok: true, plan: planSystem(parseEvalResult(run.stdout)), stderr };
}

/** The host name nixos-rebuild builds when `--flake` names none (what uname -n says). */
export function hostname(): string {
  return os.hostname();
}

/** Why Nix may not write to /nix/store here: it is not this simulated host's own store. */
function ownStoreProblem(env: NodeJS.ProcessEnv): string | undefined {
  const hostDir = env[ENV.hostDir];
  const refusal = "flakes are evaluated only on a simulated host, whose own /nix/store Nix copies them into";
  if (!hostDir) return `${refusal}; ${ENV.hostDir} is not set`;
  try {
    const mine = fs.statSync(hostPaths(hostDir).store);
    const seen = fs.statSync(HOST.store);
    return mine.dev === seen.dev && mine.ino === seen.ino ? undefined : `${refusal}; ${HOST.store} here is not ${hostPaths(hostDir).store}`;
  } catch (e) {
    return `${refusal}: ${(e as Error).message}`;
  }
}

type LockRead = { readonly ok: true; readonly inputs: LockedNixpkgs[] } | { readonly ok: false; readonly stderr: string };

/** The nixpkgs inputs of the flake's lock file, when the flake is a folder here and has one. */
function lockOf(req: FlakeRequest): LockRead {
  const folder = localFolder(req.target.flake, req.cwd);
  if (folder === undefined) return { ok: true, inputs: [] };
  let text: string;
  try {
    text = fs.readFileSync(path.join(folder, "flake.lock"), "utf8");
  } catch {
    // No lock: Nix locks the inputs itself, which needs the network (and fails without it).
    return { ok: true, inputs: [] };
  }
  const table = loadChannelTable();
  let inputs: LockedNixpkgs[];
  try {
    inputs = lockedNixpkgs(text, table);
  } catch (e) {
    return { ok: false, stderr: `error: ${(e as Error).message}\n` };
  }
  const urls = inputs.length > 0 ? declaredUrls(folder) : {};
  return { ok: true, inputs: inputs.map((i) => relocked(i, urls[i.input], table)) };
}

/**
 * The URLs flake.nix gives its inputs (`inputs.<name>.url`), read with nix-instantiate without
 * writing anything; empty when flake.nix cannot be read, which the evaluation then reports.
 */
function declaredUrls(folder: string): Record<string, string | undefined> {
  const expr = `builtins.mapAttrs (_: i: if builtins.isAttrs i then i.url or null else null) ((import ${JSON.stringify(path.join(folder, "flake.nix"))}).inputs or { })`;
  const r = spawnSync(NIX_INSTANTIATE, ["--eval", "--strict", "--json", "--readonly-mode", "-E", expr], { encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) return {};
  try {
    const parsed = JSON.parse(r.stdout) as Record<string, string | null>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v ?? undefined]));
  } catch {
    return {};
  }
}

/**
 * Writes the stand-in of nixpkgs at one simulated revision: a copy of sim/nix with
 * nixpkgs-flake.nix as its flake.nix and a channel.nix that reads pin.json (pure evaluation has
 * no environment). Written afresh each time, so it always matches sim/nix.
 */
function writeStandIn(pin: ChannelPin, rev: string): string {
  const root = path.join(SIM_VAR, "nixpkgs");
  const dir = path.join(root, `${pin.channel}-${rev}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  fs.cpSync(simNixDir(), tmp, { recursive: true, dereference: true });
  fs.copyFileSync(path.join(tmp, "nixpkgs-flake.nix"), path.join(tmp, "flake.nix"));
  fs.writeFileSync(path.join(tmp, "pin.json"), `${JSON.stringify({ channel: pin.channel, suffix: pin.suffix })}\n`);
  fs.writeFileSync(path.join(tmp, "channel.nix"), "# This stand-in's channel revision (pin.json).\nimport ./channel-of.nix (builtins.fromJSON (builtins.readFile ./pin.json))\n");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}
