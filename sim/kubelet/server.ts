/**
 * A simulated kubelet's own API, the part kube-apiserver proxies to: `kubectl exec` reaches it
 * as GET /exec/{namespace}/{pod}/{container}?command=… upgraded to a WebSocket with the
 * v5 (or v4) channel protocol, which kube-apiserver forwards as is to a Node that declares
 * ExtendWebSocketsToKubelet (node-objects.ts). The command's answer comes from the exec
 * answers (exec.ts): stdout on channel 1, stderr on channel 2, then the ending Status on
 * channel 3, as a kubelet sends them. Anything else a kubelet serves (logs, port-forward,
 * SPDY streams) answers that it is not simulated.
 */
import * as https from "node:https";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { messageOf } from "../proc";
import { type ExecAnswer, execOutcome, type ExecRequest, execStatus } from "./exec";
import { closeFrame, frame, handshakeResponse, OPCODE } from "./websocket";

/** The port kubelets serve their API on. */
export const KUBELET_PORT = 10250;
/** The channel protocols spoken, preferred first. */
export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
const CHANNEL = { stdout: 1, stderr: 2, error: 3 } as const;

/** What one kubelet's server needs. */
export interface KubeletServerOptions {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly tls: { readonly cert: string; readonly key: string };
  /** The exec answers now (read at every exec); throws when they cannot be read. */
  readonly answers: () => readonly ExecAnswer[];
}

/** An exec request of a kubelet URL, or undefined for another path. Pure. */
export function execRequestOf(url: string): ExecRequest | undefined {
  const u = new URL(url, "https://kubelet");
  const parts = u.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  // /exec/{namespace}/{pod}/{container} and /exec/{namespace}/{pod}/{uid}/{container}
  if (parts[0] !== "exec" || (parts.length !== 4 && parts.length !== 5)) return undefined;
  return { namespace: parts[1], pod: parts[2], container: parts[parts.length - 1], command: u.searchParams.getAll("command") };
}

/** The protocol to answer with among those the client offers, undefined when none is spoken. Pure. */
export function chooseProtocol(offered: string | undefined): string | undefined {
  const list = (offered ?? "").split(",").map((p) => p.trim());
  return EXEC_PROTOCOLS.find((p) => list.includes(p));
}

function refuse(socket: Duplex, status: string, message: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
}

/** One simulated kubelet's API server. */
export class KubeletServer {
  private readonly sockets = new Set<Duplex>();

  private constructor(private readonly server: https.Server) {}

  /** Listens on address:port; resolves once it does. */
  static start(o: KubeletServerOptions): Promise<KubeletServer> {
    const server = https.createServer({ cert: o.tls.cert, key: o.tls.key }, (req, res) => {
      const healthz = req.url === "/healthz";
      res.writeHead(healthz ? 200 : 404, { "Content-Type": "text/plain" });
      res.end(healthz ? "ok" : `the simulated kubelet of ${o.host} serves exec over WebSocket only; ${req.url ?? ""} is not simulated\n`);
    });
    const k = new KubeletServer(server);
    server.on("upgrade", (req: IncomingMessage, socket: Duplex) => k.upgrade(o, req, socket));
    server.on("secureConnection", (s) => {
      k.sockets.add(s);
      s.on("close", () => k.sockets.delete(s));
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(o.port, o.address, () => {
        server.off("error", reject);
        resolve(k);
      });
    });
  }

  /** Stops listening and ends every open connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(o: KubeletServerOptions, req: IncomingMessage, socket: Duplex): void {
    socket.on("error", () => socket.destroy());
    const exec = execRequestOf(req.url ?? "/");
    if (exec === undefined) return refuse(socket, "404 Not Found", `${req.url ?? ""} is not simulated\n`);
    const key = req.headers["sec-websocket-key"];
    const protocol = chooseProtocol(req.headers["sec-websocket-protocol"]);
    if (String(req.headers.upgrade).toLowerCase() !== "websocket" || typeof key !== "string" || protocol === undefined) {
      return refuse(socket, "400 Bad Request", `the simulated kubelet of ${o.host} speaks exec over WebSocket (${EXEC_PROTOCOLS.join(", ")}) only\n`);
    }
    const q = new URL(req.url ?? "/", "https://kubelet").searchParams;
    let outcome;
    try {
      outcome = execOutcome(o.answers(), exec);
    } catch (e) {
      outcome = { kind: "cannot-start" as const, message: `the simulated kubelet of ${o.host} cannot read its exec answers: ${messageOf(e)}` };
    }
    const send = (channel: number, text: string) => socket.write(frame(OPCODE.binary, Buffer.concat([Buffer.from([channel]), Buffer.from(text)])));
    socket.write(handshakeResponse(key, protocol));
    if (outcome.kind === "ran") {
      if (outcome.stdout !== "" && q.get("output") === "1") send(CHANNEL.stdout, outcome.stdout);
      if (outcome.stderr !== "" && q.get("error") === "1") send(CHANNEL.stderr, outcome.stderr);
    }
    send(CHANNEL.error, JSON.stringify(execStatus(outcome, exec.command)));
    socket.end(closeFrame());
  }
}
