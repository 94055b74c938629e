/**
 * What systemd does at the end of a simulated host's boot for the services its configuration
 * defines itself: every enabled `systemd.services.<name>` that multi-user.target wants and that
 * has a `script` is started, as NixOS runs it (bash with `set -e`), with the manager's
 * environment. They run as units systemctl and journalctl know (through systemd-run's
 * supervisor), and die at the next power-off like every process of the host.
 *
 * Only `script` services run: ExecStart lines name store paths of packages the simulated store
 * does not hold, so those services stay what units.ts says of them (running, or failed by rule).
 * Started at boot only: a live switch does not start them, which is what a `restartIfChanged =
 * false` unit needs anyway.
 *
 * Run by the fleet inside the host's namespaces after each boot; prints the units it started.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { processIo, runProgram, type Io } from "./cli";
import type { JsonObject } from "./evaluate";
import { isObject } from "./json-path";
import { HOST } from "./paths";
import { SYSTEM_CONFIG_FILE } from "./system-info";
import { systemdRun } from "./systemd-run";

/** A service of the configuration that runs at boot. */
export interface BootService {
  readonly name: string;
  readonly script: string;
  readonly description: string;
}

/** The script services multi-user.target wants, sorted by name (systemd orders them by dependencies; none here has any). */
export function bootServices(config: JsonObject): BootService[] {
  const systemd = config.systemd;
  const services = isObject(systemd) ? systemd.services : undefined;
  if (!isObject(services)) return [];
  const out: BootService[] = [];
  for (const [name, s] of Object.entries(services)) {
    if (!isObject(s) || s.enable === false) continue;
    const wantedBy = Array.isArray(s.wantedBy) ? s.wantedBy : [];
    if (!wantedBy.includes("multi-user.target")) continue;
    const script = typeof s.script === "string" ? s.script : "";
    if (script.trim() === "") continue;
    out.push({ name, script, description: typeof s.description === "string" && s.description !== "" ? s.description : `${name}.service` });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Starts the booted system's script services; returns 0 when all started. */
export async function startBootServices(io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const file = path.join(HOST.bootedSystem, SYSTEM_CONFIG_FILE);
  let config: JsonObject;
  try {
    config = JSON.parse(fs.readFileSync(file, "utf8")) as JsonObject;
  } catch (error) {
    io.err(`cannot read the booted system's configuration ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  let status = 0;
  for (const s of bootServices(config)) {
    const code = await systemdRun(["--quiet", `--unit=${s.name}`, `--description=${s.description}`, "--", "/bin/bash", "-e", "-c", s.script], io, env);
    if (code === 0) io.out(`${s.name}.service\n`);
    else status = 1;
  }
  return status;
}

if (require.main === module) {
  runProgram("boot-units", () => startBootServices(processIo));
}
