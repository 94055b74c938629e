/**
 * Every default of the inventory, in one place. The schema applies these; nothing else in the
 * project invents a default for an inventory field.
 */
import type { DrainPolicy, RebootPolicy, RebuildAction, Timeouts } from "../rollout/spec";

/** Stack config keys the program reads (namespace `fleet`). */
export const CONFIG_KEYS = {
  inventory: "fleet:inventory",
  inventoryFile: "fleet:inventoryFile",
  sshPrivateKey: "fleet:sshPrivateKey",
  secrets: "fleet:secrets",
  kubeconfig: "fleet:kubeconfig",
} as const;

export const SSH_DEFAULTS = { user: "root", port: 22, trustOnFirstUse: false } as const;

export const REBUILD_DEFAULTS: { readonly action: RebuildAction; readonly rebootPolicy: RebootPolicy } = {
  action: "switch",
  rebootPolicy: "when-needed",
};

/** Seconds. Generous for bare metal: firmware POST alone can take minutes. */
export const TIMEOUT_DEFAULTS: Timeouts = {
  connectSeconds: 15,
  lockSeconds: 60,
  rebuildSeconds: 1800,
  drainSeconds: 300,
  shutdownSeconds: 120,
  bootSeconds: 600,
  settleSeconds: 300,
  readySeconds: 600,
  healthSeconds: 600,
  confirmSeconds: 60,
};

/** kubectl drain's defaults: without --force and --delete-emptydir-data such pods stop the drain. */
export const DRAIN_DEFAULTS: DrainPolicy = { force: false, deleteEmptyDirData: false };

/**
 * The longest each timeout may be, in seconds. A larger value is almost always milliseconds
 * given by mistake (connectSeconds: 15000). Connecting and each boot phase get an hour at most;
 * what can honestly take long (a build from source, a drain of slow pods, a storage cluster
 * healing, waiting for another rollout's lock) gets a day. The longest deadline the rollout
 * arms (shutdown + boot, in ms) stays far below what Node's timers hold (2^31-1 ms, about
 * 24.8 days); a longer timer fires at once.
 */
export const TIMEOUT_LIMITS: Timeouts = {
  connectSeconds: 3_600,
  lockSeconds: 86_400,
  rebuildSeconds: 86_400,
  drainSeconds: 86_400,
  shutdownSeconds: 3_600,
  bootSeconds: 3_600,
  settleSeconds: 3_600,
  readySeconds: 3_600,
  healthSeconds: 86_400,
  confirmSeconds: 3_600,
};

/**
 * How many hosts may be disrupted at once. One: the rollout goes host by host, as it always did.
 * The most is a sanity bound, not a fleet size: every slot is a Lease that each waiting rollout reads.
 */
export const ROLLOUT_DEFAULTS = { maxUnavailable: 1 } as const;
export const MAX_UNAVAILABLE_LIMIT = 1000;

export const KUBERNETES_DEFAULTS = { enabled: true, watchedNamespaces: ["kube-system"] } as const;

export const HEALTH_DEFAULTS = { nodesReady: true } as const;

export const COMMAND_GATE_DEFAULTS = { exitCode: 0 } as const;

export const NIX_DEFAULTS = { stateVersion: "24.05" } as const;

export const K3S_DEFAULTS = { enable: false, clusterInit: false } as const;

/** Folder on every host for secret files: outside the world-readable Nix store, root-only. */
export const SECRETS_DIR = "/var/lib/nixos-fleet/secrets";

/** Where the k3s join token lands on each host (services.k3s.tokenFile points here). */
export const K3S_TOKEN_PATH = `${SECRETS_DIR}/k3s-token`;

/**
 * hostPath folders a reinstall may wipe without asking: the system's own (kernel interfaces,
 * runtime state, logs) and what the kubelet, the CNI and the CSI drivers set up again on the
 * new system. A bootstrap stops for any other hostPath folder that holds data, unless its
 * discardHostPaths names it. A path matches itself and everything below it.
 */
export const BOOTSTRAP_SYSTEM_HOST_PATHS = [
  "/proc",
  "/sys",
  "/dev",
  "/run",
  "/var/run",
  "/lib/modules",
  "/etc/cni/net.d",
  "/opt/cni/bin",
  "/var/lib/cni",
  "/var/lib/kubelet",
  "/var/log",
  "/usr/libexec/kubernetes/kubelet-plugins",
  "/etc/machine-id",
  "/etc/localtime",
] as const;
