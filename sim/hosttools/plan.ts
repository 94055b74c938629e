/**
 * From an evaluated configuration to the store paths of the system it builds. Pure: the
 * names and hashes depend only on the evaluation, so an unchanged configuration maps to
 * the same system, and the kernel, initrd and kernel modules depend only on the settings
 * that affect them:
 *   kernel         ← boot.kernelPackages (its kernel) + boot.kernelPatches
 *   kernel-modules ← the kernel + boot.extraModulePackages
 *   initrd         ← the kernel + boot.initrd.*
 *   kernel-params  ← boot.kernelParams
 */
import * as path from "node:path";
import type { EvalResult, JsonValue } from "./evaluate";
import { HOST } from "./paths";
import { storeHash } from "./storehash";
import { deriveUnits } from "./units";

/** A store path the build produces, with the derivation that would build it. */
export interface StoreItem {
  readonly path: string;
  readonly drv: string;
}

/** Everything needed to realise one system in the store. */
export interface SystemPlan {
  /** e.g. nixos-system-node1-24.05.20240812.5f2c6b1 */
  readonly name: string;
  readonly system: StoreItem;
  readonly kernel: StoreItem & { readonly image: string };
  readonly initrd: StoreItem & { readonly image: string };
  readonly modules: StoreItem;
  readonly kernelVersion: string;
  readonly modDirVersion: string;
  readonly kernelParams: readonly string[];
  readonly hostName: string;
  readonly nixosVersion: string;
  readonly codeName: string;
  readonly revision: string | null;
  /** Bootspec label, e.g. "NixOS Uakari 24.05.20240812.5f2c6b1 (Linux 6.6.45)". */
  readonly label: string;
  readonly units: readonly string[];
  readonly failingUnits: readonly string[];
  readonly systemPackages: readonly string[];
  readonly evaluation: EvalResult;
}

function item(storeDir: string, kind: string, name: string, inputs: unknown): StoreItem {
  return {
    path: path.posix.join(storeDir, `${storeHash(kind, inputs)}-${name}`),
    drv: path.posix.join(storeDir, `${storeHash(`${kind}.drv`, inputs)}-${name}.drv`),
  };
}

function initrdSettings(result: EvalResult): JsonValue {
  const boot = result.config.boot;
  if (boot && typeof boot === "object" && !Array.isArray(boot)) return boot.initrd ?? null;
  return null;
}

/** The store paths and metadata of the system `result` describes. */
export function planSystem(result: EvalResult, storeDir: string = HOST.store): SystemPlan {
  const k = result.kernel;
  const kernel = item(storeDir, "kernel", `linux-${k.version}`, { package: k.package, version: k.version, patches: k.patches });
  const modules = item(storeDir, "kernel-modules", `linux-${k.version}-modules`, {
    kernel: kernel.path,
    extraModulePackages: result.extraModulePackages,
  });
  const initrd = item(storeDir, "initrd", `initrd-linux-${k.version}`, { kernel: kernel.path, initrd: initrdSettings(result) });
  const name = `nixos-system-${result.hostName === "" ? "unnamed" : result.hostName}-${result.nixos.label}`;
  const system = item(storeDir, "system", name, { evaluation: result, kernel: kernel.path, initrd: initrd.path, modules: modules.path });
  const { units, failing } = deriveUnits(result.config);
  return {
    name,
    system,
    kernel: { ...kernel, image: `${kernel.path}/bzImage` },
    initrd: { ...initrd, image: `${initrd.path}/initrd` },
    modules,
    kernelVersion: k.version,
    modDirVersion: k.modDirVersion,
    kernelParams: result.kernelParams,
    hostName: result.hostName,
    nixosVersion: result.nixos.version,
    codeName: result.nixos.codeName,
    revision: result.nixos.revision,
    label: `NixOS ${result.nixos.codeName} ${result.nixos.label} (Linux ${k.version})`,
    units,
    failingUnits: failing,
    systemPackages: result.systemPackages,
    evaluation: result,
  };
}

/** The store items of a plan in build order (dependencies first). */
export function planItems(plan: SystemPlan): StoreItem[] {
  return [plan.kernel, plan.modules, plan.initrd, plan.system];
}
