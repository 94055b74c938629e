/**
 * The nixos-fleet program: reads the inventory from stack config, plans the rollout and
 * declares one NixosHost per host, wave by wave: each host depends on every host of the wave
 * before it (rollout.maxUnavailable hosts at most per wave, one failure domain each). Each
 * Kubernetes node's inventory labels and taints become a NodePatch after its host's rollout.
 *
 * Stack config (namespace `fleet`): `inventory` (structured) or `inventoryFile` (YAML path),
 * and the secrets `sshPrivateKey`,
 * `secrets` (name → value) and `kubeconfig`, which must be set with `--secret`.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { planCommands, wantsCommands } from "./lib/commands/plan";
import { CONFIG_KEYS } from "./lib/inventory/defaults";
import { InventoryError } from "./lib/inventory/errors";
import { readTree } from "./lib/inventory/fsTree";
import { loadInventory } from "./lib/inventory/load";
import { planNodeMetadata } from "./lib/inventory/nodeMetadata";
import { planHosts, planRolloutWaves } from "./lib/inventory/plan";
import { NixValueError } from "./lib/render/nixValue";
import { hostExports, rollOutFleet, type FleetWiring } from "./providers/fleet";
import { patchNodes } from "./providers/nodes";
import { skipPromiseTraces } from "./providers/sdkTraces";

// The SDK's record of where each of its promises was made, printed only when debugging promise
// leaks, is skipped; every error keeps its trace (providers/sdkTraces.ts, README "Fleets of hundreds").
skipPromiseTraces();

// The SDK knows which config keys were set with --secret but does not type that query.
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/** A secret stack config value; refuses one stored in plain text. */
function secretConfig(key: string): string | undefined {
  const value = pulumi.runtime.getConfig(key);
  if (value !== undefined && !runtimeConfig.isConfigSecret(key)) {
    const [, name] = key.split(":");
    throw new pulumi.RunError(
      `${key} is stored in plain text in the stack config, where anyone with the repository can read it. ` +
        `Remove it (pulumi config rm ${name}) and set it again with --secret (pulumi config set --secret ${name} …).`,
    );
  }
  return value;
}

function secretMap(key: string): Record<string, string> {
  const raw = secretConfig(key);
  if (raw === undefined) return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new pulumi.RunError(`${key} must be a map of secret names to values, e.g. pulumi config set --secret --path '${key}.k3sToken' …`);
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

function plan() {
  const io = { readFile: (p: string) => fs.readFileSync(p, "utf8"), readTree };
  const projectDir = process.cwd();
  try {
    const inventory = loadInventory(
      {
        inventory: pulumi.runtime.getConfig(CONFIG_KEYS.inventory),
        inventoryFile: pulumi.runtime.getConfig(CONFIG_KEYS.inventoryFile),
        projectDir,
      },
      io,
    );
    const specs = planHosts(
      inventory,
      {
        sshPrivateKey: secretConfig(CONFIG_KEYS.sshPrivateKey),
        values: secretMap(CONFIG_KEYS.secrets),
        kubeconfig: secretConfig(CONFIG_KEYS.kubeconfig),
      },
      io,
    );
    return { specs, waves: planRolloutWaves(inventory), commands: planCommands(inventory), nodes: planNodeMetadata(inventory, specs) };
  } catch (error) {
    // Bad input stops the program before any host is touched, without a stack trace.
    if (error instanceof InventoryError) throw new pulumi.RunError(error.message);
    // The inventory checks refuse what Nix cannot hold first; should a value slip past them,
    // the serializer's path still says where it sits.
    if (error instanceof NixValueError) {
      throw new pulumi.RunError(`Cannot write the NixOS configuration: ${error.message}. Change that value in the inventory (nix.settings or the field it comes from).`);
    }
    throw error;
  }
}

const { specs, waves, commands, nodes } = plan();
// The command plugin is loaded only for an inventory with rollout hooks or bootstraps.
const wiring: FleetWiring = wantsCommands(commands) ? (require("./providers/commands") as typeof import("./providers/commands")).commandWiring(commands, specs) : {};
const hosts = rollOutFleet(specs, waves, undefined, wiring);
// Every host the rollout treats as a Kubernetes node carries the same kubeconfig.
const kubeconfig = specs.find((s) => s.kubernetes !== undefined)?.kubernetes?.kubeconfig;
if (kubeconfig !== undefined) patchNodes(nodes, new Map(waves.flat().map((name, i) => [name, hosts[i]])), kubeconfig);

/** Per host: system path, generation, booted kernel, boot id, whether/when/why it rebooted. */
export const fleet = hostExports(hosts, waves);
/** The rollout order the engine follows: the waves one after the other. */
export const rolloutOrder = waves.flat();
/** The waves: the hosts of one wave are rolled out at once, each wave after the one before. */
export const rolloutWaves = waves;
