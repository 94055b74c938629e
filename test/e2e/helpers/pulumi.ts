/** Drives the real Pulumi CLI for the end-to-end tests: one project, a throwaway backend and stack. */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fleetInventoryObject } from "../../../sim/inventory";
import type { FleetJson } from "../../../sim/types";

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, for messages. */
  readonly output: string;
}

/** A stack of this project in its own file backend and config file. */
export class PulumiStack {
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly projectDir: string,
    readonly workDir: string,
    readonly stack: string,
    passphrase: string,
  ) {
    fs.mkdirSync(path.join(workDir, "state"), { recursive: true });
    this.env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${path.join(workDir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_HOME: process.env.PULUMI_HOME ?? path.join(workDir, "pulumi-home"),
      NO_COLOR: "1",
    };
  }

  get configFile(): string {
    return path.join(this.workDir, `Pulumi.${this.stack}.yaml`);
  }

  get stateDir(): string {
    return path.join(this.workDir, "state");
  }

  /** Runs `pulumi ARGS --stack S --config-file F`; resolves whatever the exit status, rejects at the deadline. */
  run(args: readonly string[], timeoutMs = 300_000): Promise<CliResult> {
    // `pulumi stack …` and `pulumi cancel` have no --config-file; every other command used here reads the stack config.
    const config = args[0] === "stack" || args[0] === "cancel" ? [] : ["--config-file", this.configFile];
    const full = [...args, "--stack", this.stack, ...config, "--non-interactive"];
    return new Promise((resolve, reject) => {
      const child = spawn("pulumi", full, { cwd: this.projectDir, env: this.env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`pulumi ${args.join(" ")} did not finish within ${timeoutMs / 1000}s\n${stdout}\n${stderr}`));
      }, timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run pulumi (is the CLI on PATH? bash scripts/setup.sh builds it): ${e.message}`));
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
      });
    });
  }

  /** Runs and insists on exit status 0. */
  async ok(args: readonly string[], timeoutMs?: number): Promise<CliResult> {
    const r = await this.run(args, timeoutMs);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.output}`);
    return r;
  }

  /** Every file of the backend's state, concatenated (for looking for secrets). */
  stateText(): string {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(fs.readFileSync(p, "utf8"));
      }
    };
    walk(this.stateDir);
    return out.join("\n");
  }
}

/**
 * Points a stack at a running simulated fleet as a user would point it at real hosts: the
 * inventory with the fleet's addresses and host keys filled in, and its login key as a secret.
 * The program is not told it runs against a simulation.
 */
export async function configureForFleet(stack: PulumiStack, inventory: Parameters<typeof fleetInventoryObject>[0], fleet: FleetJson): Promise<void> {
  const inv = fleetInventoryObject(inventory, fleet, fleet.stateDir);
  const config = {
    "fleet:inventory": { value: JSON.stringify(inv), objectValue: inv, secret: false },
    "fleet:sshPrivateKey": { value: fs.readFileSync(fleet.sshKeyPath, "utf8"), secret: true },
  };
  await stack.ok(["config", "set-all", "--json", JSON.stringify(config)]);
}

/**
 * What `pulumi preview/up --diff` says it does to each NixosHost, by host name:
 * "create", "update", "same", ... Hosts the output does not mention are absent.
 */
export function hostOperations(output: string): Map<string, string> {
  const ops = new Map<string, string>();
  const lines = output.split("\n");
  lines.forEach((line, i) => {
    const m = /NixosHost: \((\w[\w-]*)\)/.exec(line);
    if (!m) return;
    for (const next of lines.slice(i + 1, i + 4)) {
      const urn = /\[urn=\S*NixosHost::([\w-]+)\]/.exec(next);
      if (urn) {
        ops.set(urn[1], m[1]);
        return;
      }
    }
  });
  return ops;
}
