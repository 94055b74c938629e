/**
 * Evaluates a host's NixOS configuration with the real nix-instantiate and the module
 * system of sim/nix/. Errors come back as Nix printed them.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { isUrl, pinEnv, type ChannelPin } from "./channel-table";
import { CHANNEL_ENV, NIX_INSTANTIATE, simNixDir } from "./paths";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What sim/nix/eval.nix prints for a configuration that evaluates. */
export interface EvalResult {
  readonly hostName: string;
  readonly nixos: {
    readonly version: string;
    readonly release: string;
    readonly codeName: string;
    readonly label: string;
    readonly revision: string | null;
    readonly stateVersion: string;
    readonly configurationRevision: string | null;
  };
  readonly kernel: {
    readonly version: string;
    readonly modDirVersion: string;
    /** Store path of the kernel package the configuration selects. */
    readonly package: string;
    readonly patches: JsonValue;
  };
  readonly extraModulePackages: readonly string[];
  readonly kernelParams: readonly string[];
  readonly systemPackages: readonly string[];
  /** The whole evaluated configuration; packages appear as their store paths. */
  readonly config: JsonObject;
}

export type EvalOutcome =
  | { readonly ok: true; readonly result: EvalResult; readonly stderr: string }
  | { readonly ok: false; readonly exitCode: number | null; readonly stderr: string };

export interface EvalRequest {
  /** Absolute path of configuration.nix (or of a folder holding default.nix). */
  readonly configFile: string;
  /** The channel revision to evaluate against (nixpkgs-path.ts finds it); absent: the installed one. */
  readonly channel?: ChannelPin;
  readonly showTrace?: boolean;
  /**
   * `-I` entries given to nixos-rebuild. Those that could provide nixpkgs were resolved
   * already (into `channel`) and URLs are never fetched by Nix here, so both are left out;
   * the others are passed on after sim/nix's own nixpkgs.
   */
  readonly includePaths?: readonly string[];
  /** `--option name value` pairs given to nixos-rebuild, passed on unchanged. */
  readonly nixOptions?: ReadonlyArray<readonly [string, string]>;
  readonly timeoutMs?: number;
}

const DEFAULT_EVAL_TIMEOUT_MS = 120_000;

/** The nix-instantiate command line for a request (also shown by `nixos-rebuild -v`). */
export function evalCommand(req: EvalRequest): string[] {
  const args = ["--eval", "--strict", "--json", "--readonly-mode"];
  if (req.showTrace) args.push("--show-trace");
  args.push("-I", `nixpkgs=${path.join(simNixDir(), "nixpkgs")}`);
  for (const p of passedIncludePaths(req.includePaths ?? [])) args.push("-I", p);
  for (const [name, value] of req.nixOptions ?? []) args.push("--option", name, value);
  args.push(path.join(simNixDir(), "eval.nix"), "--argstr", "configuration", req.configFile);
  return [NIX_INSTANTIATE, ...args];
}

/** The `-I` entries nix-instantiate gets: no URLs and nothing that names nixpkgs. */
export function passedIncludePaths(entries: readonly string[]): string[] {
  return entries.filter((e) => {
    const eq = e.indexOf("=");
    const prefix = eq < 0 ? "" : e.slice(0, eq);
    return !isUrl(eq < 0 ? e : e.slice(eq + 1)) && prefix !== "nixpkgs" && !prefix.startsWith("nixpkgs/");
  });
}

/** Runs the evaluation; rejects only when nix-instantiate cannot be started or hangs. */
export async function evaluateConfiguration(req: EvalRequest): Promise<EvalOutcome> {
  const [command, ...args] = evalCommand(req);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NIX_PATH: `nixpkgs=${path.join(simNixDir(), "nixpkgs")}:nixos-config=${req.configFile}`,
    [CHANNEL_ENV]: pinEnv(req.channel),
  };
  const timeoutMs = req.timeoutMs ?? DEFAULT_EVAL_TIMEOUT_MS;
  const run = await collectOutput(command, args, {
    env,
    timeoutMs,
    hung: `${command} did not finish evaluating ${req.configFile} within ${timeoutMs} ms`,
    missing: `cannot run ${command} (is Debian's nix-bin installed?)`,
  });
  if (run.code !== 0) return { ok: false, exitCode: run.code, stderr: run.stderr };
  try {
    return { ok: true, result: parseEvalResult(run.stdout), stderr: run.stderr };
  } catch (e) {
    throw new Error(`${command} printed output that is not an evaluation result: ${(e as Error).message}`);
  }
}

/** A program's exit status and output. */
export interface Collected {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a program to its end, collecting its output. Rejects with `missing` and the cause when it
 * cannot be started, and with `hung` when it runs past `timeoutMs` (it is killed then).
 */
export function collectOutput(
  command: string,
  args: readonly string[],
  o: { readonly env: NodeJS.ProcessEnv; readonly cwd?: string; readonly timeoutMs: number; readonly hung: string; readonly missing: string },
): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: o.env, cwd: o.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(o.hung));
    }, o.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${o.missing}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

/** Parses and checks eval.nix's JSON. */
export function parseEvalResult(text: string): EvalResult {
  const v: unknown = JSON.parse(text);
  const o = asObject(v, "result");
  const kernel = asObject(o.kernel, "kernel");
  const nixos = asObject(o.nixos, "nixos");
  for (const k of ["version", "modDirVersion", "package"]) asString(kernel[k], `kernel.${k}`);
  for (const k of ["version", "release", "codeName", "label", "stateVersion"]) asString(nixos[k], `nixos.${k}`);
  asString(o.hostName, "hostName");
  for (const k of ["extraModulePackages", "kernelParams", "systemPackages"]) {
    if (!Array.isArray(o[k]) || !(o[k] as unknown[]).every((x) => typeof x === "string")) throw new Error(`${k} is not a list of strings`);
  }
  asObject(o.config, "config");
  return v as EvalResult;
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function asString(v: unknown, what: string): string {
  if (typeof v !== "string") throw new Error(`${what} is not a string`);
  return v;
}
