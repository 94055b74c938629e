/**
 * What the inventories of the end-to-end stacks share: switch and reboot when needed, k3s with
 * srv1 as its server, systemd-boot, and the timeouts of a simulated fleet. Each test adds its
 * hosts and changes what it is about.
 */

/** The deadlines a test may tighten or loosen; the rest are the same everywhere. */
export interface BaseOptions {
  readonly lockSeconds?: number;
  readonly readySeconds?: number;
  readonly watchedNamespaces?: readonly string[];
}

/** Everything of an e2e inventory but its hosts. */
export function inventoryBase(o: BaseOptions = {}) {
  return {
    rebuild: { action: "switch", rebootPolicy: "when-needed" },
    timeouts: {
      connectSeconds: 5,
      lockSeconds: o.lockSeconds ?? 10,
      rebuildSeconds: 60,
      drainSeconds: 30,
      shutdownSeconds: 20,
      bootSeconds: 30,
      settleSeconds: 30,
      readySeconds: o.readySeconds ?? 15,
      healthSeconds: 30,
    },
    kubernetes: { enabled: true, watchedNamespaces: [...(o.watchedNamespaces ?? ["kube-system", "default"])] },
    // The simulated cluster's demo app keeps a cache in an emptyDir volume, as many apps do.
    drain: { deleteEmptyDirData: true },
    k3s: { enable: true, serverAddr: "https://srv1:6443", tokenSecret: "k3sToken" },
    nix: { settings: { boot: { loader: { "systemd-boot": { enable: true } } } } },
  };
}

/** The first host the control plane, the others workers. */
export function hostsNamed(names: readonly string[]) {
  return names.map((name, i) => ({ name, role: i === 0 ? "control-plane" : "worker" }));
}
