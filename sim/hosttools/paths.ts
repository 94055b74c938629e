/**
 * Where things live on a simulated NixOS host, as the programs running on it see them.
 * Inside a host's mount namespace the per-host folders are bind-mounted over these real
 * NixOS paths (sim/layout.ts HOST_MOUNTS), so the tools only ever use the paths below.
 */
import * as path from "node:path";
import { RUN_SIM_DIR } from "../layout";

/** The real NixOS locations the host tools read and write. */
export const HOST = {
  etcNixos: "/etc/nixos",
  defaultConfig: "/etc/nixos/configuration.nix",
  store: "/nix/store",
  profilesDir: "/nix/var/nix/profiles",
  systemProfile: "/nix/var/nix/profiles/system",
  channelsProfile: "/nix/var/nix/profiles/per-user/root/channels",
  boot: "/boot",
  currentSystem: "/run/current-system",
  bootedSystem: "/run/booted-system",
  runSim: path.posix.join("/run", RUN_SIM_DIR),
} as const;

/**
 * Files under /run/nixos-sim/ that the fleet writes when a host has booted.
 *  - booted-at: milliseconds since the epoch when the boot finished (text)
 *  - timings.json: SimTimings of the running fleet (systemctl reads systemdSettleMs, nixos-rebuild buildMs)
 */
export const RUN_SIM_FILES = {
  bootedAt: "booted-at",
  timings: "timings.json",
} as const;

/** The real Nix evaluator (Debian's nix-bin); absolute so a host's PATH cannot shadow it. */
export const NIX_INSTANTIATE = "/usr/bin/nix-instantiate";

/** The Nix side of the simulation (sim/nix/), found from the compiled tools' folder. */
export function simNixDir(): string {
  return process.env.NIXOS_SIM_NIX_DIR ?? path.resolve(__dirname, "../../../sim/nix");
}

/** Folder of the compiled host tools (dist/sim/hosttools). */
export function toolsDir(): string {
  return __dirname;
}

/**
 * Variables the sw/bin wrappers of a system set for the tool they start: the system the
 * wrapper belongs to, and the name the program was invoked as (what bash calls $0).
 */
export const WRAPPER_ENV = {
  system: "NIXOS_SIM_SYSTEM",
  argv0: "NIXOS_SIM_ARGV0",
} as const;

/** The environment variable that tells sim/nix/channel.nix which channel revision to use. */
export const CHANNEL_ENV = "NIXOS_SIM_CHANNEL";
