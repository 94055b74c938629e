/**
 * The Kubernetes API as a k3s server host sees it: while k3s runs as a server, the API answers
 * on the host's own https://127.0.0.1:6443 and /etc/rancher/k3s/k3s.yaml holds an admin
 * kubeconfig for it, so `kubectl` on the host works as on a real k3s server. The real API
 * server listens on the machine's loopback only; two relays (relay.ts) join them: one in the
 * fleet on the root side of the host's veth, one inside the host on its loopback, started when
 * k3s starts and gone when it stops or the host loses power. Agents and hosts without k3s
 * serve nothing on 6443, as on real machines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as path from "node:path";
import * as YAML from "yaml";
import type { K3sState } from "./kubelet/host-system";
import { hostPaths } from "./layout";
import { nsenterArgs } from "./mounts";
import { messageOf, type ProcRef } from "./proc";
import { relay } from "./relay";

/** The port a k3s server serves the API on. */
export const K3S_API_PORT = 6443;
/** Where k3s writes its admin kubeconfig, on the host. */
export const K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
/** How long the relay inside the host may take to listen. */
const RELAY_START_MS = 10_000;

/** The real API server, on the machine's loopback. */
export interface ApiServer {
  readonly host: string;
  readonly port: number;
  /** The admin kubeconfig's text. */
  readonly kubeconfig: string;
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

/** What one host's API endpoint needs. */
export interface K3sApiOptions {
  readonly name: string;
  readonly hostDir: string;
  readonly holder: ProcRef;
  /** The root side of the host's veth: the relay inside the host connects there. */
  readonly rootAddress: string;
  readonly api: ApiServer;
  /** The compiled relay program (dist/sim/relay.js). */
  readonly relayProgram?: string;
}

/** The API endpoint of one host, following whether its k3s runs as a server. */
export class K3sApi {
  private root: net.Server | undefined;
  private inside: ChildProcess | undefined;

  constructor(private readonly o: K3sApiOptions) {}

  /** k3s now runs as `k3s` says (undefined: the host is down): serve the API while it runs as a server. */
  async follow(k3s: K3sState | undefined): Promise<void> {
    if (k3s !== undefined && k3s.runs && k3s.role === "server") return this.serve();
    this.stopInside();
  }

  /** The host lost power: the relay inside died with the host's processes. */
  hostDown(): void {
    this.inside = undefined;
  }

  /** Stops both relays (the fleet stops). */
  async close(): Promise<void> {
    this.stopInside();
    const root = this.root;
    this.root = undefined;
    if (root !== undefined) await new Promise<void>((resolve) => root.close(() => resolve()));
  }

  private async serve(): Promise<void> {
    // k3s writes its kubeconfig at every start.
    const file = path.join(hostPaths(this.o.hostDir).etcRancher, path.posix.relative("/etc/rancher", K3S_KUBECONFIG));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, k3sKubeconfig(this.o.api.kubeconfig), { mode: 0o600 });
    this.root ??= await relay({ host: this.o.rootAddress, port: K3S_API_PORT }, { host: this.o.api.host, port: this.o.api.port });
    if (this.inside !== undefined && this.inside.exitCode === null && this.inside.signalCode === null) return;
    this.inside = await this.startInside();
  }

  private startInside(): Promise<ChildProcess> {
    const program = this.o.relayProgram ?? path.join(__dirname, "relay.js");
    const args = [...nsenterArgs(this.o.holder), process.execPath, program, "127.0.0.1", String(K3S_API_PORT), this.o.rootAddress, String(K3S_API_PORT)];
    const child = spawn("nsenter", args, { stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" } });
    let said = "";
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${this.o.name}: the API relay inside the host did not listen on 127.0.0.1:${K3S_API_PORT} within ${RELAY_START_MS} ms (${said.trim() || "it said nothing"})`));
      }, RELAY_START_MS);
      const onData = (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes("listening")) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", (chunk: Buffer) => (said += chunk.toString()));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`${this.o.name}: cannot start the API relay inside the host: ${messageOf(e)}`));
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.o.name}: the API relay inside the host exited with ${code ?? signal}: ${said.trim()}`));
      });
    });
  }

  private stopInside(): void {
    this.inside?.kill("SIGTERM");
    this.inside = undefined;
  }
}
