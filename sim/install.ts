/**
 * A freshly installed machine: the host tools' initial /etc/nixos and generation 1, built by
 * their bootstrap program inside the host's namespaces before the first boot (what
 * `nixos-rebuild boot` does on a new install).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { SimHost } from "./host";
import { initialConfiguration } from "./hosttools/index";
import { hostPaths } from "./layout";
import { nsenterArgs } from "./mounts";
import { CommandError, messageOf, runOk } from "./proc";

const INSTALL_TIMEOUT_MS = 120_000;

/** Where an installed agent keeps the join token its configuration names. */
export const K3S_AGENT_TOKEN = "/var/lib/rancher/k3s/agent-token";

/** How a machine joined the fleet's k3s cluster when it was set up. */
export type K3sJoin = { readonly role: "server" } | { readonly role: "agent"; readonly serverAddr: string; readonly token: string };

/** What the bootstrap program printed. */
export interface Installed {
  readonly system: string;
  readonly generation: number;
}

/**
 * Writes the initial configuration (root accepts `authorizedKey`; k3s as it joined) and builds
 * generation 1 as the boot default. `env` is the environment of the host's SSH sessions.
 */
export async function installHost(
  host: SimHost,
  authorizedKey: string,
  env: Readonly<Record<string, string>>,
  toolsDir: string,
  k3s: K3sJoin,
): Promise<Installed> {
  const etc = hostPaths(host.dir).etcNixos;
  if (k3s.role === "agent") {
    // The join token the agent was set up with, where its configuration reads it.
    const file = path.join(hostPaths(host.dir).varLib, K3S_AGENT_TOKEN.slice("/var/lib/".length));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${k3s.token}\n`, { mode: 0o600 });
  }
  const joined = k3s.role === "server" ? { role: "server" as const } : { role: "agent" as const, serverAddr: k3s.serverAddr, tokenFile: K3S_AGENT_TOKEN };
  for (const [file, text] of Object.entries(initialConfiguration(host.name, { authorizedKeys: [authorizedKey], k3s: joined }))) {
    fs.mkdirSync(path.dirname(path.join(etc, file)), { recursive: true });
    fs.writeFileSync(path.join(etc, file), text);
  }
  const script = path.join(toolsDir, "bootstrap.js");
  let stdout: string;
  try {
    stdout = (
      await runOk("nsenter", ["--wd=/", ...nsenterArgs(host.holder), process.execPath, script], {
        env: { ...env, HOME: "/root", USER: "root", LANG: "C.UTF-8" },
        timeoutMs: INSTALL_TIMEOUT_MS,
      })
    ).stdout;
  } catch (error) {
    const detail = error instanceof CommandError ? error.message : messageOf(error);
    throw new Error(`${host.name}: installing generation 1 failed: ${detail}`);
  }
  const line = stdout.trim().split("\n").pop() ?? "";
  try {
    const parsed = JSON.parse(line) as Installed;
    if (typeof parsed.system !== "string" || typeof parsed.generation !== "number") throw new Error("missing system or generation");
    return parsed;
  } catch (error) {
    throw new Error(`${host.name}: the bootstrap program printed ${JSON.stringify(line.slice(0, 200))}, not its result (${messageOf(error)})`);
  }
}
