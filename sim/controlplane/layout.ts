/**
 * Where a control plane keeps its files inside the data folder its caller gives, and the ports
 * it listens on. Pure: nothing here touches the disk.
 */
import * as path from "node:path";
import { certPaths, type CertPaths } from "./certs";
import type { Component } from "./options";

/** The loopback ports of one start (chosen free each time). */
export interface Ports {
  readonly etcdClient: number;
  /** etcd insists on a peer listener even as a single member; nothing connects to it. */
  readonly etcdPeer: number;
  readonly apiserver: number;
  /** kube-scheduler serves /readyz here. */
  readonly scheduler: number;
}

/** The files and folders of a control plane under its data folder. */
export interface Layout {
  readonly dataDir: string;
  readonly etcdDataDir: string;
  readonly certs: CertPaths;
  /** Kubeconfigs the controller manager and the scheduler connect with (their own identities). */
  readonly controllerManagerKubeconfig: string;
  readonly schedulerKubeconfig: string;
  logOf(component: Component): string;
}

/** The layout under `dataDir`. */
export function layoutOf(dataDir: string): Layout {
  const abs = path.resolve(dataDir);
  return {
    dataDir: abs,
    etcdDataDir: path.join(abs, "etcd"),
    certs: certPaths(path.join(abs, "pki")),
    controllerManagerKubeconfig: path.join(abs, "controller-manager.kubeconfig"),
    schedulerKubeconfig: path.join(abs, "scheduler.kubeconfig"),
    logOf: (component) => path.join(abs, "logs", `${component}.log`),
  };
}

/** The HTTPS URL of a loopback port. */
export function loopbackUrl(host: string, port: number): string {
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
