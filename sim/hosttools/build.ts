/**
 * Evaluating and building a host's configuration: which configuration.nix, which channel
 * revision, and the resulting system plan. Shared by nixos-rebuild and the bootstrap.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { currentChannel, loadChannelTable } from "./channel";
import { evaluateConfiguration, type EvalRequest } from "./evaluate";
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

/** Evaluates `configFile` against the host's channel and plans the system it describes. */
export async function evaluateSystem(req: Omit<EvalRequest, "channelSuffix">): Promise<BuildOutcome> {
  const channel = currentChannel(loadChannelTable());
  const outcome = await evaluateConfiguration({ ...req, channelSuffix: channel.suffix });
  if (!outcome.ok) return outcome;
  return { ok: true, plan: planSystem(outcome.result), stderr: outcome.stderr };
}
