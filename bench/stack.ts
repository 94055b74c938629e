/**
 * A throwaway stack of this project driven the way a user drives it: every Pulumi command goes
 * through `scripts/fleet.sh STACK …`, with the file backend in a temporary folder. Each line the
 * command prints is stamped with the moment it arrived, so the bench can tell when the CLI
 * reported a host done.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** One line of a command's output and when it arrived (milliseconds since the epoch). */
export interface StampedLine {
  readonly t: number;
  readonly text: string;
}

/** How a command ended. */
export interface CommandRun {
  readonly code: number | null;
  readonly started: number;
  readonly ended: number;
  readonly lines: readonly StampedLine[];
}

const PASSPHRASE = "bench-passphrase";

/** A stack `name` of the project in `projectDir`, its state under `workDir`. */
export class BenchStack {
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly projectDir: string,
    readonly name: string,
    readonly workDir: string,
  ) {
    fs.mkdirSync(path.join(workDir, "state"), { recursive: true });
    this.env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${path.join(workDir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      NO_COLOR: "1",
    };
  }

  /** The stack's config file: fleet.sh keeps it beside Pulumi.yaml, as for any stack. */
  get configFile(): string {
    return path.join(this.projectDir, `Pulumi.${this.name}.yaml`);
  }

  /** Runs `bash scripts/fleet.sh STACK ARGS`; resolves whatever its exit status, rejects at the deadline. */
  run(args: readonly string[], timeoutMs: number): Promise<CommandRun> {
    return runStamped("bash", ["scripts/fleet.sh", this.name, ...args], { cwd: this.projectDir, env: this.env, timeoutMs, what: `fleet.sh ${this.name} ${args[0]}` });
  }

  /** Runs and insists on exit status 0, with the output's tail in the error. */
  async ok(args: readonly string[], timeoutMs = 600_000): Promise<CommandRun> {
    const r = await this.run(args, timeoutMs);
    if (r.code !== 0) {
      const tail = r.lines.slice(-40).map((l) => l.text).join("\n");
      throw new Error(`bash scripts/fleet.sh ${this.name} ${args.join(" ").slice(0, 200)} exited ${r.code}; its output ends:\n${tail}`);
    }
    return r;
  }

  /** Sets stack config values (plain or secret) in one command. */
  async setConfig(values: Readonly<Record<string, { value: unknown; secret?: boolean }>>): Promise<void> {
    const json = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, typeof v.value === "string" ? { value: v.value, secret: v.secret === true } : { value: JSON.stringify(v.value), objectValue: v.value, secret: v.secret === true }]),
    );
    await this.ok(["config", "set-all", "--json", JSON.stringify(json)]);
  }

  /** Removes the stack's config file from the project (the state goes with workDir). */
  removeConfig(): void {
    fs.rmSync(this.configFile, { force: true });
  }
}

/** Runs a program, stamping each output line (stdout and stderr) as it arrives. */
export function runStamped(
  command: string,
  args: readonly string[],
  o: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly timeoutMs: number; readonly what: string; readonly onSpawn?: (pid: number) => void },
): Promise<CommandRun> {
  const started = Date.now();
  const lines: StampedLine[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid !== undefined) o.onSpawn?.(child.pid);
    const collect = (stream: NodeJS.ReadableStream) => {
      let partial = "";
      stream.on("data", (d: Buffer) => {
        const t = Date.now();
        const parts = (partial + d.toString("utf8")).split("\n");
        partial = parts.pop() ?? "";
        for (const text of parts) lines.push({ t, text });
      });
      stream.on("end", () => partial && lines.push({ t: Date.now(), text: partial }));
    };
    collect(child.stdout);
    collect(child.stderr);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${o.what} did not finish within ${o.timeoutMs / 1000} s; its output ends:\n${lines.slice(-40).map((l) => l.text).join("\n")}`));
    }, o.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command} for ${o.what}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, started, ended: Date.now(), lines });
    });
  });
}

/**
 * When the CLI said each host's NixosHost resource was created or updated (its progress line,
 * e.g. ` ~  pulumi-nodejs:dynamic/nixos-fleet:NixosHost srv2 updated (6s) [diff: …]`).
 */
export function doneTimes(lines: readonly StampedLine[], hosts: readonly string[]): Record<string, number> {
  const done: Record<string, number> = {};
  for (const l of lines) {
    const m = /NixosHost (\S+) (created|updated)\b/.exec(l.text);
    if (m && hosts.includes(m[1]) && done[m[1]] === undefined) done[m[1]] = l.t;
  }
  return done;
}
