/**
 * Evaluating and building a host's configuration: which configuration.nix, which channel
 * revision, and the resulting system plan. Shared by nixos-rebuild and the bootstrap.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readTreePin } from "./channel";
import { loadChannelTable } from "./channel-table";
import { evaluateConfiguration, type EvalRequest } from "./evaluate";
import { lookupNixpkgs, searchPath } from "./nixpkgs-path";
import { HOST } from "./paths";
import { planSystem, type SystemPlan } from "./plan";

/**
 * The configuration nixos-rebuild builds, in NixOS's order: $NIXOS_CONFIG, then the first
 * `-I nixos-config=...`, then nixos-config in $NIX_PATH, then /etc/nixos/configuration.nix
 * (NixOS's default NIX_PATH). A folder means its default.nix.
 */
export function resolveConfigFile(includePaths: readonly string[], env: NodeJS.ProcessEnv, cwd: string): string {
  const fromInclude = includePaths.find((p) => p.startsWith("nixos-config="));
  const fromNixPath = (env.NIX_PATH ?? "").split(":").find((p) => p.startsWith("nixos-config="));
  const chosen = env.NIXOS_CONFIG || fromInclude?.slice("nixos-config=".length) || fromNixPath?.slice("nixos-config=".length) || HOST.defaultConfig;
  const absolute = path.resolve(cwd, chosen);
  try {
    if (fs.statSync(absolute).isDirectory()) return path.join(absolute, "default.nix");
  } catch {
    // A missing file is reported by Nix itself when it tries to read it.
  }
  return absolute;
}

export type BuildOutcome =
  | { readonly ok: true; readonly plan: SystemPlan; readonly stderr: string }
  | { readonly ok: false; readonly exitCode: number | null; readonly stderr: string };

/** The session a rebuild runs in: its environment ($NIX_PATH) and working folder. */
export interface SearchContext {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/**
 * Evaluates `configFile` against the nixpkgs its search path finds (the -I entries, then
 * $NIX_PATH or NixOS's default: root's `nixos` channel) and plans the system it describes.
 * Without `session` (the bootstrap) only NixOS's default search path is used.
 */
export async function evaluateSystem(req: Omit<EvalRequest, "channel">, session: SearchContext = { env: {}, cwd: "/" }): Promise<BuildOutcome> {
  const table = loadChannelTable();
  const probe = { exists: (p: string) => fs.existsSync(p), treePin: (p: string) => readTreePin(p, table) };
  const found = lookupNixpkgs(searchPath(req.includePaths ?? [], session.env), table, probe, session.cwd);
  const warnings = found.warnings.map((w) => `${w}\n`).join("");
  if (found.kind !== "channel") return { ok: false, exitCode: 1, stderr: `${warnings}${found.message}\n` };
  const outcome = await evaluateConfiguration({ ...req, channel: found.pin });
  if (!outcome.ok) return { ...outcome, stderr: warnings + outcome.stderr };
  return { ok: true, plan: planSystem(outcome.result), stderr: warnings + outcome.stderr };
}
