/**
 * What k3s listens on inside a host, while it runs: a server serves the Kubernetes API on the
 * host's own https://127.0.0.1:6443 and writes /etc/rancher/k3s/k3s.yaml, an admin kubeconfig
 * for it, so `kubectl` on the host works as on a real k3s server; every k3s (server or agent)
 * serves its kubelet's API on the host's address, port 10250, where kube-apiserver sends
 * `kubectl exec`. The real API server listens on the machine's loopback only and the kubelet
 * servers (kubelet/server.ts) run in the fleet, on the root side of each host's veth; relays
 * (relay.ts) join them: one in the fleet for the API, one inside the host, started when k3s
 * starts and gone when it stops or the host loses power. Hosts without k3s serve nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as path from "node:path";
import * as YAML from "yaml";
import type { K3sState } from "./kubelet/host-system";
import type { ExecAnswer } from "./kubelet/exec";
import { KUBELET_PORT, KubeletServer } from "./kubelet/server";
import { hostPaths } from "./layout";
import { nsenterArgs } from "./mounts";
import { messageOf, type ProcRef } from "./proc";
import { type Endpoint, relay } from "./relay";

/** The port a k3s server serves the API on. */
export const K3S_API_PORT = 6443;
/** Where k3s writes its admin kubeconfig, on the host. */
export const K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
/** How long the relay inside the host may take to listen. */
const RELAY_START_MS = 10_000;
/** How long the relay inside may take to stop before it is killed. */
const RELAY_STOP_MS = 2_000;

/** The real API server, on the machine's loopback. */
export interface ApiServer {
  readonly host: string;
  readonly port: number;
  /** The admin kubeconfig's text. */
  readonly kubeconfig: string;
}

/** What the fleet's kubelet servers share. */
export interface KubeletApi {
  readonly tls: { readonly cert: string; readonly key: string };
  /** The exec answers now (kubelet/exec.ts). */
  readonly answers: () => readonly ExecAnswer[];
}

/** A listener inside the host and where it leads in the fleet. */
export interface Forward {
  readonly listen: Endpoint;
  readonly to: Endpoint;
}

/** The listeners inside the host while k3s runs as `k3s` says (none while it does not). Pure. */
export function k3sForwards(k3s: K3sState | undefined, addresses: { readonly hostAddress: string; readonly rootAddress: string }): Forward[] {
  if (k3s === undefined || !k3s.runs) return [];
  const kubelet: Forward = { listen: { host: addresses.hostAddress, port: KUBELET_PORT }, to: { host: addresses.rootAddress, port: KUBELET_PORT } };
  if (k3s.role === "agent") return [kubelet];
  return [{ listen: { host: "127.0.0.1", port: K3S_API_PORT }, to: { host: addresses.rootAddress, port: K3S_API_PORT } }, kubelet];
}

/** The admin kubeconfig with every cluster's server set to the host's own https://127.0.0.1:6443. Pure. */
export function k3sKubeconfig(adminKubeconfig: string): string {
  const doc = YAML.parse(adminKubeconfig) as { clusters?: Array<{ cluster?: { server?: string } }> };
  if (!Array.isArray(doc.clusters) || doc.clusters.length === 0) throw new Error("the admin kubeconfig names no cluster");
  for (const c of doc.clusters) {
    if (c.cluster === undefined) throw new Error("a cluster of the admin kubeconfig has no server");
    c.cluster.server = `https://127.0.0.1:${K3S_API_PORT}`;
  }
  return YAML.stringify(doc);
}

/** What one host's ports need. */
export interface K3sPortsOptions {
  readonly name: string;
  readonly hostDir: string;
  readonly holder: ProcRef;
  readonly hostAddress: string;
  /** The root side of the host's veth: the fleet's ends listen there. */
  readonly rootAddress: string;
  readonly api: ApiServer;
  readonly kubelet: KubeletApi;
  /** The compiled relay program (dist/sim/relay.js). */
  readonly relayProgram?: string;
}

/** The ports of one host's k3s, following whether and how it runs. */
export class K3sPorts {
  private rootApi: net.Server | undefined;
  private kubelet: KubeletServer | undefined;
  private inside: { readonly child: ChildProcess; readonly key: string } | undefined;

  constructor(private readonly o: K3sPortsOptions) {}

  /** k3s now runs as `k3s` says (undefined: the host is down). */
  async follow(k3s: K3sState | undefined): Promise<void> {
    const forwards = k3sForwards(k3s, this.o);
    const key = JSON.stringify(forwards);
    if (this.inside !== undefined && (this.inside.key !== key || !running(this.inside.child))) await this.stopInside();
    if (forwards.length === 0) return;
    if (k3s !== undefined && k3s.runs && k3s.role === "server") {
      // k3s writes its kubeconfig at every start.
      const file = path.join(hostPaths(this.o.hostDir).etcRancher, path.posix.relative("/etc/rancher", K3S_KUBECONFIG));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, k3sKubeconfig(this.o.api.kubeconfig), { mode: 0o600 });
      this.rootApi ??= await relay({ host: this.o.rootAddress, port: K3S_API_PORT }, { host: this.o.api.host, port: this.o.api.port });
    }
    this.kubelet ??= await KubeletServer.start({ host: this.o.name, address: this.o.rootAddress, port: KUBELET_PORT, ...this.o.kubelet });
    if (this.inside === undefined) this.inside = { child: await this.startInside(forwards), key };
  }

  /** The host lost power: the relay inside died with the host's processes. */
  hostDown(): void {
    this.inside = undefined;
  }

  /** Stops the relays and the kubelet server (the fleet stops). */
  async close(): Promise<void> {
    await this.stopInside();
    const root = this.rootApi;
    this.rootApi = undefined;
    const kubelet = this.kubelet;
    this.kubelet = undefined;
    await Promise.all([root === undefined ? undefined : new Promise<void>((resolve) => root.close(() => resolve())), kubelet?.close()]);
  }

  private startInside(forwards: readonly Forward[]): Promise<ChildProcess> {
    const program = this.o.relayProgram ?? path.join(__dirname, "relay.js");
    const pairs = forwards.map((f) => `${f.listen.host}:${f.listen.port}=${f.to.host}:${f.to.port}`);
    const child = spawn("nsenter", [...nsenterArgs(this.o.holder), process.execPath, program, ...pairs], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" },
    });
    let said = "";
    const what = `${this.o.name}: the k3s relay inside the host (${pairs.join(" ")})`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${what} did not listen within ${RELAY_START_MS} ms (${said.trim() || "it said nothing"})`));
      }, RELAY_START_MS);
      child.stdout?.on("data", (chunk: Buffer) => {
        said += chunk.toString();
        if (!said.includes("listening")) return;
        clearTimeout(timer);
        resolve(child);
      });
      child.stderr?.on("data", (chunk: Buffer) => (said += chunk.toString()));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`${what} cannot start: ${messageOf(e)}`));
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${what} exited with ${code ?? signal}: ${said.trim()}`));
      });
    });
  }

  /** Stops the relay inside and waits until it is gone, so its ports are free again. */
  private async stopInside(): Promise<void> {
    const child = this.inside?.child;
    this.inside = undefined;
    if (child === undefined || !running(child)) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), RELAY_STOP_MS);
    await gone;
    clearTimeout(timer);
  }
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
