/**
 * What the rollout of one host needs, fully resolved: the inventory's defaults are already
 * applied and the Nix files already rendered. This is the NixosHost resource's input shape.
 */

import type { ChannelPin } from "../nixos/channel";
import type { FlakePin } from "../nixos/flake";
import { GOALS, type Goal } from "../nixos/goal";

/** How the new system is applied: the goal of its activation (lib/nixos/goal.ts has its predicates). */
export type RebuildAction = Goal;
export const REBUILD_ACTIONS: readonly RebuildAction[] = GOALS;

/** When a host is rebooted after its rebuild. */
export type RebootPolicy = "always" | "when-needed" | "never";
export const REBOOT_POLICIES: readonly RebootPolicy[] = ["always", "when-needed", "never"];

/** The node's part in the Kubernetes cluster; control-plane nodes roll out first. */
export type HostRole = "control-plane" | "worker";
export const HOST_ROLES: readonly HostRole[] = ["control-plane", "worker"];

/** Deadlines of every wait, in seconds. */
export interface Timeouts {
  readonly connectSeconds: number;
  readonly lockSeconds: number;
  readonly rebuildSeconds: number;
  readonly drainSeconds: number;
  readonly shutdownSeconds: number;
  readonly bootSeconds: number;
  readonly settleSeconds: number;
  readonly readySeconds: number;
  readonly healthSeconds: number;
  /**
   * How long the host-side guard waits for the rollout to reach the host over a new SSH
   * connection after activating a new system (or booting it) before it returns to the previous one.
   */
  readonly confirmSeconds: number;
}

/**
 * A command run over SSH on the host just rolled out, polled until it passes or its deadline
 * (timeouts.healthSeconds) runs out. E.g. `ceph health` passing on /^HEALTH_OK/ or on a
 * tolerated warning such as /^HEALTH_WARN.*noout flag/.
 */
export interface CommandGate {
  readonly name: string;
  readonly command: string;
  /** The exit status that passes (usually 0). */
  readonly exitCode: number;
  /** The gate passes when stdout matches one of these (JavaScript regular expressions); empty: any output. */
  readonly passWhen: readonly string[];
}

/** Checks run after a host's rollout before the next host is touched. */
export interface HealthGates {
  /** Every Node in the cluster is Ready. */
  readonly nodesReady: boolean;
  /** DaemonSets, Deployments and StatefulSets in these namespaces are rolled out. */
  readonly watchedNamespaces: readonly string[];
  readonly commands: readonly CommandGate[];
}

/**
 * The exceptions a drain may make, as `kubectl drain` names them. Each pod the drain would
 * otherwise refuse to evict is lost with its data or not recreated: kubectl refuses both unless
 * told (--force, --delete-emptydir-data).
 */
export interface DrainPolicy {
  /** Evict pods that declare no controller; nothing recreates them elsewhere. */
  readonly force: boolean;
  /** Evict pods with emptyDir volumes; their data is lost. */
  readonly deleteEmptyDirData: boolean;
}

/** How to reach the cluster's API server. Absent: the host is not a Kubernetes node. */
export interface KubernetesTarget {
  /** kubeconfig contents (YAML). Secret: it usually carries a credential. */
  readonly kubeconfig: string;
  /** Name of this host's Node object. */
  readonly nodeName: string;
}

/**
 * What the rollout of a host may disrupt along with it, held in the fleet lease so that it
 * holds across stacks and machines (lib/cluster/lease.ts).
 */
export interface DisruptionBudget {
  /** How many hosts of the cluster may be disrupted at once. */
  readonly maxUnavailable: number;
  /**
   * Hosts of different groups are never disrupted at once: a failure domain
   * (`topology.kubernetes.io/zone=zone-a`), a control-plane host's own group, or "" in a fleet
   * without failure domains (lib/inventory/waves.ts decides).
   */
  readonly group: string;
}

/**
 * A system built ahead of the host's activation (FleetBuild): the staged configuration and the
 * system built from it, which the activation lands in /etc/nixos and activates instead of
 * building. The state keeps the files' hashes, not their contents: those are the build's.
 */
export interface StagedBuild {
  /** The staging folder on the host (lib/nixos/staging.ts). */
  readonly dir: string;
  /** Store path of the system built from it, kept from garbage collection by dir/result. */
  readonly system: string;
  /** Hash of each staged file, by name relative to /etc/nixos. */
  readonly fileHashes: Readonly<Record<string, string>>;
}

/** How a rollout reaches a host over SSH: what a build needs of the HostSpec. */
export type HostAccess = Pick<HostSpec, "name" | "address" | "port" | "user" | "hostKey" | "trustOnFirstUse" | "sshPrivateKey">;

/** One host's build inputs (FleetBuild): the host's access, its rendered files and its timeouts. */
export interface BuildSpec extends HostAccess {
  /** Rendered files, relative to /etc/nixos, with their contents. */
  readonly files: Readonly<Record<string, string>>;
  /** The staging folder of these files (stagingDirFor). */
  readonly stagingDir: string;
  /** The channel the system is built from; absent: the host's own `nixos` channel. */
  readonly channel?: ChannelPin;
  /** The flake configuration the system is built from (the flake's files are among `files`); absent: configuration.nix. */
  readonly flake?: FlakePin;
  readonly timeouts: Timeouts;
}

/** The names of the files the host's configuration renders, whether built ahead or not. */
export function renderedFileNames(spec: Pick<HostSpec, "files" | "staged">): string[] {
  return Object.keys(spec.staged ? spec.staged.fileHashes : spec.files).sort();
}

/** The NixosHost resource's inputs. */
export interface HostSpec {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Pinned OpenSSH public key line of the host; empty with trustOnFirstUse. */
  readonly hostKey: string;
  readonly trustOnFirstUse: boolean;
  /** Secret: the private key the rollout logs in with (OpenSSH or PEM). */
  readonly sshPrivateKey: string;
  /** Rendered files, relative to /etc/nixos, with their contents; empty when `staged` carries them. */
  readonly files: Readonly<Record<string, string>>;
  /** A system built ahead (FleetBuild): the activation lands and activates it instead of building. */
  readonly staged?: StagedBuild;
  /** The channel the host is pinned to: its system is built from it, and its `nixos` channel set to it once healthy. */
  readonly channel?: ChannelPin;
  /** The flake configuration the host is built from (the flake's files are among `files`); absent: configuration.nix. */
  readonly flake?: FlakePin;
  /** Secret: absolute path on the host (outside the Nix store) → contents, written mode 0600. */
  readonly secretFiles: Readonly<Record<string, string>>;
  readonly action: RebuildAction;
  readonly rebootPolicy: RebootPolicy;
  readonly kubernetes?: KubernetesTarget;
  /** What a drain of the host's Node may evict beyond what kubectl drain evicts by default. */
  readonly drain: DrainPolicy;
  readonly gates: HealthGates;
  readonly timeouts: Timeouts;
  readonly disruption: DisruptionBudget;
}
