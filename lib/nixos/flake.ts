/**
 * Hosts built from the user's flake (inventory nix.flake). Pure: names, references and limits;
 * the inventory reads the flake's files (lib/inventory/flakeFiles.ts), sshOps.ts runs the build.
 *
 * The flake's files land at the root of /etc/nixos (and of the staging folder), next to the
 * fleet's rendered modules in fleet/, which the flake imports as one module (`./fleet`). The host
 * builds `nixosConfigurations.<configuration>` with `nixos-rebuild build --flake path:<folder>#<configuration>`:
 * a `path:` reference makes Nix copy the folder as it is, with the host's own
 * hardware-configuration.nix, where a plain path inside a git repository would see only the files
 * git tracks.
 */

/** The flake configuration a host is built from: `nixosConfigurations.<configuration>`. */
export interface FlakePin {
  readonly configuration: string;
}

/** Names nixos-rebuild accepts after `#` and we can pass unquoted: no quotes, `#`, spaces or slashes. */
const CONFIGURATION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/** Why `name` cannot name a flake's nixosConfigurations entry; undefined when it can. */
export function configurationNameProblem(name: string): string | undefined {
  return CONFIGURATION_NAME.test(name) ? undefined : "is not a configuration name nixos-rebuild can build: use letters, digits, '_', '.', '+' and '-'";
}

/** The flake reference of a folder on the host and a configuration: `path:/etc/nixos#srv1`. */
export function flakeRef(folder: string, pin: FlakePin): string {
  return `path:${folder}#${pin.configuration}`;
}

/**
 * Shell that sets `$no_flake` to `--no-flake` when `etcNixos` holds a flake.nix. nixos-rebuild
 * builds /etc/nixos/flake.nix whenever it exists, even when told `-I nixos-config=…`; after a
 * flake rollout it is still there while the next configuration.nix is built ahead (its
 * activation removes it). Used unquoted (`nixos-rebuild build $no_flake …`), so that hosts
 * without a flake run the command they always ran.
 */
export function noFlakeGuard(etcNixos = "/etc/nixos"): string {
  return `no_flake=""; if [ -e ${etcNixos}/flake.nix ]; then no_flake=--no-flake; fi`;
}

/** Files a flake may not bring, since the fleet or the host owns them at the root of /etc/nixos. */
export const RESERVED_FLAKE_FILES: ReadonlyArray<{ readonly test: (name: string) => boolean; readonly why: string }> = [
  { test: (n) => n === "fleet" || n.startsWith("fleet/"), why: "fleet/ holds the fleet's rendered modules; rename the flake's folder" },
  { test: (n) => n === "hardware-configuration.nix", why: "hardware-configuration.nix at the top belongs to each host (nixos-generate-config wrote it) and is never overwritten; keep per-host hardware files in a folder of the flake, e.g. hosts/srv1/hardware.nix" },
  { test: (n) => n === "result" || n.startsWith("result/"), why: "result is the link nixos-rebuild build leaves; remove it from the flake's folder" },
];

/** Limits on what a flake may ship to every host: they are text files, sent over SSH on every rollout. */
export const FLAKE_LIMITS = {
  /** Files in the folder. */
  files: 500,
  /** Bytes of one file. */
  fileBytes: 1024 * 1024,
  /** Bytes of all files together. */
  totalBytes: 4 * 1024 * 1024,
} as const;

/** Folders of a flake that are not shipped: version control data. */
export const SKIPPED_FLAKE_FOLDERS: readonly string[] = [".git", ".jj", ".hg"];
