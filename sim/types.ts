/**
 * Shared shapes of the simulated fleet: its state folder, its timeline and its faults.
 * Everything under .sim/ is described here so the CLI, the host tools, the Kubernetes
 * simulator and the tests agree on it.
 */

/** One simulated host as fleet.json lists it. */
export interface SimHostInfo {
  readonly name: string;
  /** IPv4 address of the host inside its network namespace. */
  readonly address: string;
  readonly port: number;
  /** The host's SSH public key as an OpenSSH line: "ssh-ed25519 AAAA... root@name". */
  readonly hostKey: string;
}

/** .sim/fleet.json */
export interface FleetJson {
  readonly hosts: readonly SimHostInfo[];
  /** Client private key (OpenSSH format) that root on every host accepts. */
  readonly sshKeyPath: string;
  /** Admin kubeconfig of the fleet's Kubernetes control plane. */
  readonly kubeconfig: string;
  /** The state folder itself (absolute). */
  readonly stateDir: string;
  /** Append-only JSON lines, one TimelineEvent each. */
  readonly timeline: string;
  /** Unix socket of the fleet's control server (faults, reboots, events). */
  readonly controlSocket: string;
}

/** What the timeline records. */
export type TimelineKind =
  | "ssh-session" // an SSH session was accepted by the host's sshd
  | "build-started" // nixos-rebuild began evaluating (detail: action)
  | "build-finished" // detail: { ok, action, generation?, system?, error? }
  | "activated" // switch-to-configuration ran (detail: action, system)
  | "cordon"
  | "uncordon"
  | "eviction" // detail: { namespace, pod, result: "evicted" | "blocked" }
  | "reboot-started"
  | "down"
  | "up" // detail: { bootId, system }
  | "ready" // the Node became Ready (detail: bootId)
  | "not-ready"
  | "node-deleted"
  | "fault"; // a fault was set or cleared (detail: { fault, on })

/** One line of the timeline. */
export interface TimelineEvent {
  /** Milliseconds since the epoch. */
  readonly t: number;
  readonly host: string;
  readonly kind: TimelineKind;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** Faults settable per host from the command line or the API. */
export const FAULTS = [
  "build-fails", // nixos-rebuild fails building, after evaluating the configuration
  "never-returns", // after a reboot the host stays down
  "kubelet-never-ready", // a boot into a system it breaks (see FaultScope): the Node never turns Ready
  "degraded", // a boot into a system it breaks: systemd says "degraded"
  "activation-fails", // a unit of the systems it breaks fails: switch-to-configuration switch/test exits 4 (after the boot entry moved), and a boot into one is degraded
  "slow-boot", // the host stays down for slowBootMs instead of downMs
  "drop-ssh-during-rebuild", // sshd drops the session in the middle of nixos-rebuild
  "pdb-blocks", // a PodDisruptionBudget forbids evicting a pod on this host
  "host-key-changed", // another machine (another host key) answers at the address
] as const;
export type FaultName = (typeof FAULTS)[number];

/**
 * Which systems a broken-configuration fault (kubelet-never-ready, degraded, activation-fails)
 * breaks: one target system, or every system but those in the store when it was set.
 */
export type FaultScope = { readonly system: string } | { readonly spared: readonly string[] };

/** Whether a fault with `scope` breaks `system` (a store path). */
export function breaks(scope: FaultScope, system: string): boolean {
  return "system" in scope ? scope.system === system : !scope.spared.includes(system);
}

/** <hostDir>/faults.json: the faults hitting the current boot, and the scopes of broken-configuration faults. */
export interface FaultsFile {
  readonly faults: readonly FaultName[];
  readonly scopes?: Readonly<Partial<Record<FaultName, FaultScope>>>;
}

/** Type guard for fault names coming from the command line. */
export function isFaultName(s: string): s is FaultName {
  return (FAULTS as readonly string[]).includes(s);
}

/** Timing knobs of the simulation, all in milliseconds. */
export interface SimTimings {
  /** How long a rebooting host is unreachable. */
  readonly downMs: number;
  /** How long a host with the slow-boot fault is unreachable. */
  readonly slowBootMs: number;
  /** After boot, how long systemd reports "starting". */
  readonly systemdSettleMs: number;
  /** After boot, how long until the kubelet reports the Node Ready. */
  readonly kubeletReadyMs: number;
  /** Longest a kubelet takes to remove a pod being deleted (its grace period caps it too). */
  readonly podTerminationMs: number;
  /** How long a kubelet takes to start a pod bound to its Ready node (Running and Ready). */
  readonly rescheduleMs: number;
  /** How long nixos-rebuild takes to build the derivations a new system needs (none: no wait). */
  readonly buildMs?: number;
  /**
   * kube-controller-manager's --node-monitor-grace-period: how long a Node whose kubelet stopped
   * stays as it was before the control plane marks it Unknown. Unset: Kubernetes' own default.
   */
  readonly nodeMonitorGracePeriodSeconds?: number;
}

export const DEFAULT_TIMINGS: SimTimings = {
  downMs: 1500,
  slowBootMs: 6000,
  systemdSettleMs: 400,
  kubeletReadyMs: 800,
  podTerminationMs: 300,
  rescheduleMs: 700,
  buildMs: 0,
};
