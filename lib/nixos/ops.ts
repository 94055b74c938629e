/**
 * The NixOS-level operations a rollout performs on one host, above the shell: land the
 * configuration, build it without changing anything, set the system profile, activate a
 * system with a goal, read which systems are booted/current/default, and reboot. The rollout
 * (apply, rollback, reboot) talks only to this interface, so unit tests drive it with a fake
 * (test/fakes/nixos.ts) and production with SSH (sshOps.ts).
 */
import type { Host } from "../host/host";
import type { ChannelPin } from "./channel";
import type { ParsedClosureDiff } from "./closureDiff";
import type { FlakePin } from "./flake";
import type { Goal } from "./goal";
import type { Guard, GuardOutcome } from "./guard";

/** The boot-relevant parts of a NixOS system: what decides whether a reboot is needed. */
export interface BootFacts {
  /** Store path of the system (its toplevel). */
  readonly system: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly kernelModules: string;
  readonly kernelParams: string;
}

/** A host's systems as it runs now. */
export interface SystemState {
  readonly bootId: string;
  /** The system the host booted (/run/booted-system): the one proven to boot. */
  readonly booted: BootFacts;
  /** The system activated now (/run/current-system). */
  readonly current: BootFacts;
  /** The boot default: the system profile's current generation (/nix/var/nix/profiles/system). */
  readonly profile: BootFacts;
  /** The number of the system profile's current generation (the boot default); 0 when none. */
  readonly generation: number;
  /** The newest profile generation whose system is the current system; 0 when none is (e.g. after `test`). */
  readonly currentGeneration: number;
}

/** A file as found on the host: its contents, or null when absent. */
export type LiveFiles = Record<string, string | null>;

/** What `systemctl is-system-running` says, with the failed units when it is degraded. */
export interface SystemdState {
  readonly state: string;
  readonly failedUnits: string;
}

/** `nix store diff-closures` between two systems, or why it could not be read. */
export type ClosureDiff = ({ readonly kind: "read" } & ParsedClosureDiff) | { readonly kind: "unreadable"; readonly reason: string };

/** Whether the closure diff was read. */
export function isDiffRead(d: ClosureDiff): d is Extract<ClosureDiff, { kind: "read" }> {
  return d.kind === "read";
}

/** Two systems side by side: their NixOS versions (`<system>/nixos-version`, "" when absent) and the diff of their closures. */
export interface SystemComparison {
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly diff: ClosureDiff;
}

/** NixOS operations on one host. Failures reject with a RolloutError naming the step and command. */
export interface NixosOps {
  readonly name: string;
  /** The booted, current and default systems and the boot id, in one read. */
  readSystems(): Promise<SystemState>;
  /** Files under /etc/nixos (relative names). */
  readConfig(names: readonly string[]): Promise<LiveFiles>;
  /** Writes (null: removes) files under /etc/nixos atomically, mode 0644. */
  writeConfig(files: Readonly<LiveFiles>, step?: "write" | "restore"): Promise<void>;
  /** Files at absolute paths outside the store (the secret files). */
  readSecrets(paths: readonly string[]): Promise<LiveFiles>;
  /** Writes (null: removes) secret files at absolute paths atomically, mode 0600. */
  writeSecrets(files: Readonly<LiveFiles>, step?: "write" | "restore"): Promise<void>;
  /**
   * Builds the system /etc/nixos describes and keeps it from garbage collection; changes
   * neither the profile, the boot loader nor the running system. The build goes on when the
   * connection drops, which rejects with a HostConnectionError: `attach` then follows the build
   * already running instead of starting another. With `staged`, builds the configuration
   * staged in that folder instead (`-I nixos-config=<staged>/configuration.nix`), whose
   * ./result then keeps it from garbage collection. With `channel`, builds against that channel,
   * fetched into the store (channel.ts), without changing the host's own channels. With
   * `flake`, builds that configuration of the flake among the files (`--flake path:<folder>#<name>`).
   */
  build(timeoutMs: number, attach?: boolean, staged?: string, channel?: ChannelPin, flake?: FlakePin): Promise<BootFacts>;
  /**
   * Sets the host's `nixos` channel to `pin` (nix-channel --add, --update) unless it is set
   * already; says whether it changed it and what it was. A failed update puts the old URL back.
   */
  setChannel(pin: ChannelPin): Promise<{ changed: false } | { changed: true; previous: string }>;
  /**
   * Stages `files` in the staging folder `dir` (lib/nixos/staging.ts) over a copy of /etc/nixos,
   * which keeps the host's own files (hardware-configuration.nix) beside them. /etc/nixos is not touched.
   */
  stage(dir: string, files: Readonly<Record<string, string>>): Promise<void>;
  /** Removes every staging folder but `keep`, with the GC roots of their builds (`keep`'s build superseded them). */
  unstageOthers(keep: string): Promise<void>;
  /** Files staged in `dir` (relative names). */
  readStaged(dir: string, names: readonly string[]): Promise<LiveFiles>;
  /** The boot facts of `system` when it is (still) in the host's store, complete enough to activate; undefined when it is gone. */
  findSystem(system: string): Promise<BootFacts | undefined>;
  /** Makes `system` the system profile's current generation (`nix-env --set`); returns its number. */
  setProfile(system: string): Promise<number>;
  /** `<system>/bin/switch-to-configuration <goal>`; rejects (step "activate") when it exits non-zero. */
  activate(system: string, goal: Goal): Promise<void>;
  /** Arms the host-side guard (guard.ts) that returns the host to `guard.previous` unless disarmed in time. */
  armGuard(guard: Guard): Promise<void>;
  /**
   * Disarms an armed guard, over the current connection: run on a new connection, this is the
   * confirmation that the host can still be reached. Says whether the guard had already fired.
   */
  disarmGuard(): Promise<GuardOutcome>;
  /**
   * Compares the system `from` with `to`: their NixOS versions and what `nix store
   * diff-closures` says changed. A diff that cannot be read (no `nix store` in an old Nix, no
   * `nix` at all) is a ClosureDiff of kind "unreadable", not a rejection.
   */
  compareSystems(from: string, to: string): Promise<SystemComparison>;
  /** The kernel's boot id. */
  readBootId(timeoutMs: number): Promise<string>;
  /** Asks the host to reboot (`systemctl reboot`) and drops the connection. */
  reboot(): Promise<void>;
  /** Whether the host answers on its SSH port within `timeoutMs`; never rejects. */
  reachable(timeoutMs: number): Promise<boolean>;
  /** Opens a new connection (after a reboot); errors are not wrapped, so a wait may retry them. */
  reconnect(timeoutMs: number): Promise<void>;
  /** `systemctl is-system-running`, with `systemctl --failed` when degraded. */
  systemd(): Promise<SystemdState>;
  /** The shell connection, for the inventory's command gates. */
  shell(): Promise<Host>;
}
