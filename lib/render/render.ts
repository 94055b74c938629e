/**
 * Rendering one host's files under /etc/nixos: the generated configuration.nix and
 * fleet/host.nix, the static modules from nix/, and the user's own modules under fleet/user/.
 * With a flake, the flake's files instead of configuration.nix, and fleet/default.nix, the one
 * module the flake imports to get the fleet's modules. Pure and deterministic: the same input
 * gives byte-identical files.
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
  /** The fleet's flake: its files relative to its folder; they replace configuration.nix. */
  readonly flakeFiles?: Readonly<Record<string, string>>;
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

/** A module that only imports `imports` (Nix path literals), under a comment header. */
function importsModule(headerLines: readonly string[], imports: readonly string[]): string {
  return [header(headerLines), "{ ... }:", "{", "  imports = [", ...imports.map((i) => `    ${i}`), "  ];", "}", ""].join("\n");
}

/** A user module's path as a Nix path literal relative to `from` (the folder of the importing file, relative to /etc/nixos). */
function userModuleLiteral(p: string, from: string): string {
  if (!PATH_LITERAL_SAFE.test(p)) throw new Error(`module path ${JSON.stringify(p)} cannot be written as a Nix path literal`);
  const file = userModuleFile(p);
  return `./${from === "" ? file : file.slice(from.length + 1)}`;
}

/** configuration.nix: imports the host's hardware configuration and every fleet module. */
export function renderConfiguration(hostName: string, userModulePaths: readonly string[]): string {
  const imports = [
    "./hardware-configuration.nix",
    ...STATIC_MODULES.map((m) => `./fleet/${m}`),
    ...userModulePaths.map((p) => userModuleLiteral(p, "")),
  ];
  return importsModule(
    [
      `managed by nixos-fleet: generated for host ${hostName} from the fleet inventory.`,
      "Every rollout overwrites this file and fleet/; change the inventory instead.",
      "hardware-configuration.nix belongs to the host and is never touched.",
    ],
    imports,
  );
}

/** fleet/host.nix: the host's data as a plain attribute set (no functions, no paths). */
export function renderHostNix(data: HostNixData): string {
  return [
    header([`managed by nixos-fleet: inventory data of host ${data.hostName}, read by fleet/*.nix.`, "Generated; every rollout overwrites it."]),
    toNix(data, { root: `host ${data.hostName}` }),
    "",
  ].join("\n");
}

/**
 * fleet/default.nix: every fleet module (and the user's nix.imports) as one module, for a flake
 * to import with `./fleet`. The host's hardware-configuration.nix is not among them: the flake
 * imports it itself (`./hardware-configuration.nix`), as it stays at the top of /etc/nixos.
 */
export function renderFleetModule(hostName: string, userModulePaths: readonly string[]): string {
  const imports = [...STATIC_MODULES.map((m) => `./${m}`), ...userModulePaths.map((p) => userModuleLiteral(p, "fleet"))];
  return importsModule(
    [
      `managed by nixos-fleet: the fleet's modules for host ${hostName}, generated from the fleet inventory.`,
      "The flake imports this folder as a module, e.g.",
      `  nixosConfigurations.${hostName} = nixpkgs.lib.nixosSystem { system = "x86_64-linux"; modules = [ ./fleet ./hardware-configuration.nix ]; };`,
      "Every rollout overwrites fleet/; change the inventory instead.",
    ],
    imports,
  );
}

/** Every file of one host, relative to /etc/nixos → contents. */
export function renderHostFiles(input: RenderInput): Record<string, string> {
  const files: Record<string, string> = {};
  const userPaths = input.userModules.map((m) => m.path);
  if (input.flakeFiles === undefined) {
    files["configuration.nix"] = renderConfiguration(input.data.hostName, userPaths);
  } else {
    Object.assign(files, input.flakeFiles);
    files["fleet/default.nix"] = renderFleetModule(input.data.hostName, userPaths);
  }
  files["fleet/host.nix"] = renderHostNix(input.data);
  for (const m of STATIC_MODULES) files[`fleet/${m}`] = input.staticModules[m];
  for (const m of input.userModules) files[userModuleFile(m.path)] = m.content;
  return files;
}
