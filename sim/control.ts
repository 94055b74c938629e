/**
 * The fleet's control server (protocol.ts): HTTP/1.1 with JSON bodies over a Unix socket, used
 * by the programs on the hosts (events, the power button, faults) and by the CLI.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { EventBody } from "./protocol";
import { isTimelineKind } from "./timeline";
import { isFaultName, type FaultName, type FleetJson, type TimelineEvent } from "./types";

/** What the server asks of the fleet. */
export interface ControlHandlers {
  fleet(): FleetJson;
  timeline(): TimelineEvent[];
  hasHost(name: string): boolean;
  event(host: string, body: EventBody): void;
  /** Why the host cannot be rebooted now (it is in a power cycle already), or undefined. */
  cannotReboot(host: string): string | undefined;
  /** The power button. */
  reboot(host: string): void;
  dropSessions(host: string): Promise<void>;
  /** switch-to-configuration activated `system`: the daemons the fleet runs (sshd) follow it. */
  servicesChanged(host: string, system: string): Promise<void>;
  faults(host: string): FaultName[];
  /** `system`: the one system a broken-configuration fault breaks (else those built after it was set). */
  setFault(host: string, fault: FaultName, on: boolean, system?: string): Promise<FaultName[]>;
  /** Starts stopping the fleet (after the answer is sent). */
  down(): void;
}

/** A request the server refuses, with its HTTP status. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
/** Linux's sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** The listening control server of one fleet. */
export class ControlServer {
  private constructor(private readonly server: http.Server, readonly socketPath: string) {}

  /** Listens on `socketPath` (a stale socket file is replaced). */
  static async listen(socketPath: string, h: ControlHandlers): Promise<ControlServer> {
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(`the control socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes (a Unix socket limit); use a shorter --state-dir`);
    }
    fs.rmSync(socketPath, { force: true });
    const server = http.createServer((req, res) => {
      handle(req, h).then(
        (out) => {
          const body = out.body === undefined ? "" : JSON.stringify(out.body);
          // The follow-up (a reboot, the fleet's stop) runs once the answer is out, or the asker hung up.
          let followed = false;
          const follow = () => {
            if (followed) return;
            followed = true;
            out.after?.();
          };
          res.once("finish", follow);
          res.once("close", follow);
          res.writeHead(out.status, body ? { "content-type": "application/json" } : {});
          res.end(body);
        },
        (error: unknown) => {
          const status = error instanceof HttpError ? error.status : 500;
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
        },
      );
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return new ControlServer(server, socketPath);
  }

  /** Stops listening, drops idle keep-alive connections and removes the socket file. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    fs.rmSync(this.socketPath, { force: true });
  }
}

interface Outcome {
  readonly status: number;
  readonly body?: unknown;
  /** Runs once the answer has been handed to the socket. */
  readonly after?: () => void;
}

async function handle(req: http.IncomingMessage, h: ControlHandlers): Promise<Outcome> {
  const url = new URL(req.url ?? "/", "http://fleet");
  const method = req.method ?? "GET";
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const body = method === "GET" ? undefined : await readJson(req);
  if (parts.length === 1 && parts[0] === "fleet" && method === "GET") return { status: 200, body: h.fleet() };
  if (parts.length === 1 && parts[0] === "timeline" && method === "GET") return { status: 200, body: { events: h.timeline() } };
  if (parts.length === 1 && parts[0] === "down" && method === "POST") return { status: 202, body: {}, after: () => h.down() };
  if (parts.length === 3 && parts[0] === "hosts") {
    const host = parts[1];
    if (!h.hasHost(host)) throw new HttpError(404, `no simulated host named ${JSON.stringify(host)}`);
    const action = `${method} ${parts[2]}`;
    switch (action) {
      case "POST events": {
        const b = asObject(body);
        if (!isTimelineKind(b.kind)) throw new HttpError(400, `"kind" must be a timeline kind, got ${JSON.stringify(b.kind)}`);
        if (b.detail !== undefined && (typeof b.detail !== "object" || b.detail === null || Array.isArray(b.detail))) {
          throw new HttpError(400, `"detail" must be an object`);
        }
        h.event(host, b.detail === undefined ? { kind: b.kind } : { kind: b.kind, detail: b.detail as Record<string, unknown> });
        return { status: 204 };
      }
      case "POST reboot": {
        const refusal = h.cannotReboot(host);
        if (refusal) throw new HttpError(409, refusal);
        // The power button answers first; the power cycle starts after the reply is sent.
        return { status: 202, body: {}, after: () => h.reboot(host) };
      }
      case "POST drop-sessions":
        await h.dropSessions(host);
        return { status: 204 };
      case "POST services": {
        const b = asObject(body);
        if (typeof b.system !== "string" || !b.system.startsWith("/nix/store/")) throw new HttpError(400, `"system" must be a store path, got ${JSON.stringify(b.system)}`);
        await h.servicesChanged(host, b.system);
        return { status: 204 };
      }
      case "GET faults":
        return { status: 200, body: { faults: h.faults(host) } };
      case "PUT faults": {
        const b = asObject(body);
        if (typeof b.fault !== "string" || !isFaultName(b.fault)) throw new HttpError(400, `"fault" must be a fault name, got ${JSON.stringify(b.fault)}`);
        if (typeof b.on !== "boolean") throw new HttpError(400, `"on" must be true or false`);
        if (b.system !== undefined && (typeof b.system !== "string" || !b.system.startsWith("/nix/store/"))) {
          throw new HttpError(400, `"system" must be a store path, got ${JSON.stringify(b.system)}`);
        }
        try {
          return { status: 200, body: { faults: await h.setFault(host, b.fault, b.on, b.system as string | undefined) } };
        } catch (error) {
          throw new HttpError(400, error instanceof Error ? error.message : String(error));
        }
      }
      default:
        break;
    }
  }
  throw new HttpError(404, `no such request: ${method} ${url.pathname}`);
}

function asObject(v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new HttpError(400, "the body must be a JSON object");
  return v as Record<string, unknown>;
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8").trim();
      if (!text) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, "the body is not JSON"));
      }
    });
    req.on("error", reject);
  });
}
