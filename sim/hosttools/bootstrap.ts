/**
 * Generation 1 of a new simulated host: the fleet writes initialConfiguration() to the
 * host's /etc/nixos and then runs, inside the host's mount namespace,
 *
 *   node dist/sim/hosttools/bootstrap.js      → prints {"system","generation","created"}
 *
 * which does what `nixos-rebuild boot` does on a fresh install (channel, store, profile,
 * boot loader) without recording timeline events. On a host that already has a system
 * profile it only makes sure the boot loader is installed.
 */
import * as fs from "node:fs";
import { evaluateSystem } from "./build";
import { ensureChannel } from "./channel";
import { loadChannelTable } from "./channel-table";
import { processIo, runProgram, type Io } from "./cli";
import { HOST, toolsDir as compiledToolsDir } from "./paths";
import { currentGeneration, setProfile } from "./profile";
import { realiseSystem } from "./store";
import { switchToConfiguration } from "./switch";

export interface BootstrapResult {
  /** Store path of the system the host boots. */
  readonly system: string;
  readonly generation: number;
  /** False when the host already had a system profile. */
  readonly created: boolean;
}

export interface BootstrapOptions {
  readonly toolsDir?: string;
  /** Where switch-to-configuration's messages go (nowhere by default). */
  readonly io?: Io;
}

const quiet: Io = { out: () => undefined, err: () => undefined };

/** Builds and installs generation 1 from /etc/nixos/configuration.nix (host paths). */
export async function bootstrapHost(options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const io = options.io ?? quiet;
  fs.mkdirSync(HOST.boot, { recursive: true });
  ensureChannel(loadChannelTable());
  const existing = currentGeneration(HOST.systemProfile);
  if (existing !== undefined) {
    const system = fs.realpathSync(HOST.systemProfile);
    await switchToConfiguration(system, "boot", { io });
    return { system, generation: existing, created: false };
  }
  if (!fs.existsSync(HOST.defaultConfig)) {
    throw new Error(`${HOST.defaultConfig} is missing: write the host's initial configuration (initialConfiguration()) to /etc/nixos first`);
  }
  const built = await evaluateSystem({ configFile: HOST.defaultConfig });
  if (!built.ok) {
    throw new Error(`evaluating ${HOST.defaultConfig} failed (nix-instantiate exit ${built.exitCode}):\n${built.stderr.trimEnd()}`);
  }
  realiseSystem(built.plan, options.toolsDir ?? compiledToolsDir());
  const system = built.plan.system.path;
  const { generation } = setProfile(HOST.systemProfile, system);
  await switchToConfiguration(system, "boot", { io });
  return { system, generation, created: true };
}

if (require.main === module) {
  runProgram("bootstrap", async () => {
    const result = await bootstrapHost({ io: { out: () => undefined, err: processIo.err } });
    processIo.out(`${JSON.stringify(result)}\n`);
    return 0;
  });
}
