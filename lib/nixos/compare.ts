/**
 * Comparing two systems on the host in one command: their NixOS versions (`<system>/nixos-version`)
 * and `nix store diff-closures`. The `nix` command is experimental in the Nix of NixOS 24.05
 * (2.18) unless nix.conf enables it, so the command asks for the feature itself. The script and
 * the reading of its result are pure; sshOps.ts runs them.
 */
import type { ExecResult } from "../host/host";
import { shellQuote } from "../host/quote";
import { parseClosureDiff } from "./closureDiff";
import type { SystemComparison } from "./ops";

/** The diff command, as the user can run it on the host. */
export function diffClosuresCommand(from: string, to: string): string {
  return `nix --extra-experimental-features nix-command store diff-closures ${shellQuote(from)} ${shellQuote(to)}`;
}

/**
 * Prints the two versions on the first two lines, then runs the diff in place of the shell, so
 * that the exit status and stderr are the diff's.
 */
export function compareScript(from: string, to: string): string {
  return [
    `printf '%s\\n' "$(cat ${shellQuote(from)}/nixos-version 2>/dev/null)" "$(cat ${shellQuote(to)}/nixos-version 2>/dev/null)"`,
    `exec ${diffClosuresCommand(from, to)}`,
  ].join("\n");
}

/** The last lines of a command's output, on one line. */
function tailOf(text: string, lines = 3): string {
  return text.trim().split("\n").slice(-lines).join(" | ");
}

/** What compareScript's result says; a diff that failed is unreadable, with its command, status and error. */
export function comparisonOf(from: string, to: string, r: ExecResult): SystemComparison {
  const lines = r.stdout.split("\n");
  const fromVersion = (lines[0] ?? "").trim();
  const toVersion = (lines[1] ?? "").trim();
  if (r.code !== 0) {
    const why = tailOf(r.stderr) || tailOf(lines.slice(2).join("\n")) || "no output";
    const status = r.code === null ? "was killed" : r.code === 127 ? "found no `nix` command (exit 127)" : `exited ${r.code}`;
    return { fromVersion, toVersion, diff: { kind: "unreadable", reason: `\`${diffClosuresCommand(from, to)}\` ${status}: ${why}` } };
  }
  return { fromVersion, toVersion, diff: { kind: "read", ...parseClosureDiff(lines.slice(2).join("\n")) } };
}
