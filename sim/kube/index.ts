/**
 * A simulated Kubernetes API server for the simulated fleet: HTTPS on loopback, bearer-token
 * auth, the core/apps/policy endpoints that kubectl and @kubernetes/client-node use for node
 * maintenance (nodes, pods, eviction with PodDisruptionBudgets, workloads), and controllers
 * that move Node readiness, pod termination and rescheduling forward in simulated time.
 *
 * The fleet tells it when hosts go down and come back (hostDown/hostUp) and which faults are
 * set; everything else happens through the API.
 */
import type { SimTimings, TimelineKind } from "../types";
import { SIM_KUBE_DEFAULTS } from "./constants";
import { Controllers, type KnownNode } from "./controllers";
import { ClusterState, type KubeFault, isActive } from "./model";
import { seedCluster } from "./seed";
import { type RunningServer, startServer } from "./server";
import { ensureCredentials, writeKubeconfig } from "./tls";

/** One Node of the simulated cluster. */
export interface SimKubeNode {
  readonly name: string;
  readonly role: "control-plane" | "worker";
  /** InternalIP the Node reports (data only); a stable made-up one when absent. */
  readonly address?: string;
}

/** How to build a SimKube. */
export interface SimKubeOptions {
  /** Writes kube/ca.crt, kube/server.crt/key, kube/token and kubeconfig here. */
  readonly stateDir: string;
  readonly nodes: readonly SimKubeNode[];
  readonly timings: SimTimings;
  /** Timeline sink. */
  readonly record: (e: { host: string; kind: TimelineKind; detail?: Record<string, unknown> }) => void;
  /** Default 127.0.0.1. */
  readonly listenHost?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
}

/** The faults this simulator acts on. */
export type SimKubeFault = KubeFault;

/** The simulated API server and its cluster; start() before use, stop() when done. */
export class SimKube {
  private readonly state = new ClusterState(() => Date.now());
  private readonly controllers: Controllers;
  private readonly requests: string[] = [];
  private server: RunningServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tickError: string | undefined;

  constructor(private readonly opts: SimKubeOptions) {
    const names = new Set<string>();
    for (const n of opts.nodes) {
      if (names.has(n.name)) throw new Error(`simulated Kubernetes: node ${JSON.stringify(n.name)} is listed twice`);
      names.add(n.name);
    }
    const known = new Map<string, KnownNode>(opts.nodes.map((n, index) => [n.name, { ...n, index }]));
    this.controllers = new Controllers(this.state, opts.timings, known, (host, kind, detail) =>
      opts.record({ host, kind, ...(detail === undefined ? {} : { detail }) }),
    );
    seedCluster(this.state, opts.nodes);
    this.controllers.refreshStatuses();
  }

  /** Generates credentials, listens, writes the kubeconfig and starts the controllers. */
  async start(): Promise<{ url: string; kubeconfigPath: string }> {
    if (this.server !== undefined) throw new Error("simulated Kubernetes: start() called twice");
    const host = this.opts.listenHost ?? SIM_KUBE_DEFAULTS.listenHost;
    const creds = await ensureCredentials(this.opts.stateDir, host);
    this.server = await startServer({
      creds,
      host,
      port: this.opts.port ?? 0,
      context: (serverAddress) => ({
        state: this.state,
        controllers: this.controllers,
        timings: this.opts.timings,
        record: (h, kind, detail) => this.opts.record({ host: h, kind, ...(detail === undefined ? {} : { detail }) }),
        serverAddress,
      }),
      log: (line) => {
        this.requests.push(line);
        if (this.requests.length > SIM_KUBE_DEFAULTS.requestLogSize) this.requests.shift();
      },
    });
    const kubeconfigPath = await writeKubeconfig(this.opts.stateDir, this.server.url, creds);
    this.timer = setInterval(() => {
      try {
        this.controllers.tick();
      } catch (e) {
        // A controller bug must not take the whole fleet down; snapshot() shows it.
        this.tickError = e instanceof Error ? (e.stack ?? e.message) : String(e);
      }
    }, SIM_KUBE_DEFAULTS.tickMs);
    return { url: this.server.url, kubeconfigPath };
  }

  /** The host finished booting: its kubelet reports Ready after kubeletReadyMs with this bootID. */
  hostUp(node: string, bootId: string): void {
    this.controllers.hostUp(node, bootId);
  }

  /** The host went down: its Node is NotReady at once and its pods are not ready. */
  hostDown(node: string): void {
    this.controllers.hostDown(node);
  }

  /** Turns a fault on or off for a node (kubelet-never-ready holds back a starting kubelet and every later boot). */
  setFault(node: string, fault: SimKubeFault, on: boolean): void {
    this.controllers.setFault(node, fault, on);
  }

  /** Nodes, pods, workloads, budgets and recent requests, for tests and debugging. */
  snapshot(): unknown {
    const s = this.state;
    return {
      nodes: [...s.nodes.values()].map((n) => ({
        name: n.meta.name,
        role: n.role,
        kubelet: n.kubelet,
        ready: n.ready.status,
        bootId: n.bootId,
        unschedulable: n.unschedulable,
        faults: [...(s.faults.get(n.meta.name) ?? [])],
      })),
      pods: [...s.pods.values()].map((p) => ({
        namespace: p.meta.namespace,
        name: p.meta.name,
        uid: p.meta.uid,
        node: p.nodeName,
        ready: p.ready,
        terminating: !isActive(p),
        owner: p.mirror ? "mirror" : (p.owner?.kind ?? "none"),
      })),
      workloads: [...s.workloads.values()].map((w) => ({
        kind: w.kind,
        namespace: w.meta.namespace,
        name: w.meta.name,
        replicas: w.replicas,
        status: w.status,
      })),
      pdbs: [...s.pdbs.values()].map((b) => ({ namespace: b.meta.namespace, name: b.meta.name, status: b.status })),
      requests: [...this.requests],
      ...(this.tickError === undefined ? {} : { tickError: this.tickError }),
    };
  }

  /** Stops the controllers and closes the server and its connections. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await server.close();
  }
}
