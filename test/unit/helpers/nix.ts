/**
 * Running the real nix-instantiate from unit tests. A missing binary fails the test loudly:
 * the checks below mean nothing without the real Nix parser and evaluator.
 */
import { spawnSync } from "node:child_process";

function run(args: readonly string[], input: string, cwd?: string): string {
  const r = spawnSync("nix-instantiate", args, { input, cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? "nix-instantiate is not installed (apt-get install nix-bin); these tests need the real Nix" : `nix-instantiate failed to start: ${r.error.message}`);
  }
  if (r.status !== 0) throw new Error(`nix-instantiate ${args.join(" ")} exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** Evaluates an expression strictly and returns its JSON value. `cwd` anchors relative paths. */
export function nixEvalJson(expr: string, cwd?: string): unknown {
  return JSON.parse(run(["--eval", "--strict", "--json", "-"], expr, cwd));
}

/** Evaluates an expression strictly and returns Nix's own printout. */
export function nixEvalRaw(expr: string, cwd?: string): string {
  return run(["--eval", "--strict", "-"], expr, cwd).trim();
}

/** Parses Nix source; throws with the parser's message when it is not valid Nix. */
export function nixParse(source: string, cwd?: string): string {
  return run(["--parse", "-"], source, cwd);
}
