/**
 * The floor of a Pulumi command's start-up on this machine: `pulumi preview` of an empty
 * TypeScript program (Pulumi compiles it at start, as a new project's template does), with this
 * project's node_modules and the same file backend kind, in a temporary folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runStamped } from "./stack";

const PREVIEW_TIMEOUT_MS = 300_000;

/** Writes the empty program under `dir`, its node_modules linked to the project's. */
function writeEmptyProgram(projectDir: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bench-empty\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench-empty", private: true, main: "index.ts" }, null, 2) + "\n");
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, target: "es2020", module: "commonjs", moduleResolution: "node" }, files: ["index.ts"] }, null, 2) + "\n");
  fs.writeFileSync(path.join(dir, "index.ts"), 'import * as pulumi from "@pulumi/pulumi";\n\nexport const stack = pulumi.getStack();\n');
  fs.symlinkSync(path.join(projectDir, "node_modules"), path.join(dir, "node_modules"));
}

/** Runs `pulumi ARGS` in `dir` with the project's pinned CLI (scripts/env.sh puts it on PATH). */
async function pulumi(projectDir: string, dir: string, env: NodeJS.ProcessEnv, args: readonly string[]): Promise<number> {
  const script = 'source "$0/scripts/env.sh" && exec pulumi "$@"';
  const r = await runStamped("bash", ["-c", script, projectDir, ...args, "--non-interactive"], { cwd: dir, env, timeoutMs: PREVIEW_TIMEOUT_MS, what: `pulumi ${args[0]} of an empty program` });
  if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} of the empty program in ${dir} exited ${r.code}: ${r.lines.slice(-20).map((l) => l.text).join("\n")}`);
  return r.ended - r.started;
}

/** How long `pulumi preview` of an empty program takes, once per run asked for (the stack is made first, untimed). */
export async function emptyPreviewMs(projectDir: string, workDir: string, runs: number): Promise<number[]> {
  const dir = path.join(workDir, "empty-program");
  writeEmptyProgram(projectDir, dir);
  fs.mkdirSync(path.join(workDir, "empty-state"), { recursive: true });
  const env = { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(workDir, "empty-state")}`, PULUMI_CONFIG_PASSPHRASE: "bench-empty", NO_COLOR: "1" };
  await pulumi(projectDir, dir, env, ["stack", "init", "empty", "--secrets-provider", "passphrase"]);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await pulumi(projectDir, dir, env, ["preview", "--stack", "empty"]));
  return times;
}
