/**
 * Rendering one host's files under /etc/nixos: the generated configuration.nix and
 * fleet/host.nix, the static modules from nix/, and the user's own modules under fleet/user/.
 * Pure and deterministic: the same input gives byte-identical files.
 */
import type { HostNixData } from "./hostData";
import { toNix } from "./nixValue";

/** The static modules shipped in nix/, copied to fleet/<name> on every host. */
export const STATIC_MODULES = ["base.nix", "k3s.nix", "guard.nix"] as const;
export type StaticModuleName = (typeof STATIC_MODULES)[number];

/** A module of the user's, by its path relative to the project folder (posix, normalized). */
export interface UserModule {
  readonly path: string;
  readonly content: string;
}

export interface RenderInput {
  readonly data: HostNixData;
  readonly staticModules: Readonly<Record<StaticModuleName, string>>;
  /** Fleet-wide modules first, then the host's; in the order they are imported. */
  readonly userModules: readonly UserModule[];
}

/** Where a user module lands, relative to /etc/nixos. Keeps its folders, so names cannot collide. */
export function userModuleFile(projectRelativePath: string): string {
  return `fleet/user/${projectRelativePath}`;
}

/** Characters a Nix path literal may hold; module paths are written as ./path literals. */
export const PATH_LITERAL_SAFE = /^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/;

function header(lines: readonly string[]): string {
  return lines.map((l) => `# ${l}`).join("\n");
}

/** configuration.nix: imports the host's hardware configuration and every fleet module. */
export function renderConfiguration(hostName: string, userModulePaths: readonly string[]): string {
  const imports = [
    "./hardware-configuration.nix",
    ...STATIC_MODULES.map((m) => `./fleet/${m}`),
    ...userModulePaths.map((p) => {
      if (!PATH_LITERAL_SAFE.test(p)) throw new Error(`module path ${JSON.stringify(p)} cannot be written as a Nix path literal`);
      return `./${userModuleFile(p)}`;
    }),
  ];
  return [
    header([
      `managed by nixos-fleet: generated for host ${hostName} from the fleet inventory.`,
      "Every rollout overwrites this file and fleet/; change the inventory instead.",
      "hardware-configuration.nix belongs to the host and is never touched.",
    ]),
    "{ ... }:",
    "{",
    "  imports = [",
    ...imports.map((i) => `    ${i}`),
    "  ];",
    "}",
    "",
  ].join("\n");
}

/** fleet/host.nix: the host's data as a plain attribute set (no functions, no paths). */
export function renderHostNix(data: HostNixData): string {
  return [
    header([`managed by nixos-fleet: inventory data of host ${data.hostName}, read by fleet/*.nix.`, "Generated; every rollout overwrites it."]),
    toNix(data, { root: `host ${data.hostName}` }),
    "",
  ].join("\n");
}

/** Every file of one host, relative to /etc/nixos → contents. */
export function renderHostFiles(input: RenderInput): Record<string, string> {
  const files: Record<string, string> = {};
  files["configuration.nix"] = renderConfiguration(input.data.hostName, input.userModules.map((m) => m.path));
  files["fleet/host.nix"] = renderHostNix(input.data);
  for (const m of STATIC_MODULES) files[`fleet/${m}`] = input.staticModules[m];
  for (const m of input.userModules) files[userModuleFile(m.path)] = m.content;
  return files;
}
