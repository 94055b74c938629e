/**
 * The host side of the control protocol (sim/protocol.ts): HTTP with JSON bodies over
 * the fleet's Unix socket, whose path and the host's name come from the session's
 * environment (sim/layout.ts ENV).
 */
import * as http from "node:http";
import { ENV } from "../layout";
import type { EventBody } from "../protocol";
import type { TimelineKind } from "../types";

const CONTROL_TIMEOUT_MS = 3000;

/** The control socket refused or did not answer. */
export class ControlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ControlError";
  }
}

/** What a host can ask of the fleet. */
export interface ControlClient {
  readonly host: string;
  /** Appends an event to the fleet's timeline. */
  event(kind: TimelineKind, detail?: Readonly<Record<string, unknown>>): Promise<void>;
  /** Presses the host's power button: the fleet reboots it (and drops its sessions). */
  reboot(): Promise<void>;
  /** Kills every SSH session of the host (the calling program's included). */
  dropSessions(): Promise<void>;
  /** Tells the fleet that `system` was activated or sshd.service stopped or started, so sshd follows. */
  servicesChanged(system: string): Promise<void>;
}

function request(socketPath: string, method: string, urlPath: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        method,
        path: urlPath,
        headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        timeout: CONTROL_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("timeout", () => req.destroy(new ControlError(`no answer within ${CONTROL_TIMEOUT_MS} ms`)));
    req.on("error", (e) => reject(e instanceof ControlError ? e : new ControlError(e.message)));
    req.end(payload);
  });
}

/** A client for `host` talking to the socket at `socketPath`. */
export function controlClient(socketPath: string, host: string): ControlClient {
  const hostPath = `/hosts/${encodeURIComponent(host)}`;
  const call = async (urlPath: string, body: unknown, what: string) => {
    let res: { status: number; text: string };
    try {
      res = await request(socketPath, "POST", urlPath, body);
    } catch (e) {
      throw new ControlError(`${what} for host ${host}: control socket ${socketPath}: ${(e as Error).message}`);
    }
    if (res.status >= 300) throw new ControlError(`${what} for host ${host}: the fleet answered ${res.status}: ${res.text.slice(0, 300)}`);
  };
  return {
    host,
    event: (kind, detail) => {
      const body: EventBody = detail === undefined ? { kind } : { kind, detail };
      return call(`${hostPath}/events`, body, `recording the ${kind} event`);
    },
    reboot: () => call(`${hostPath}/reboot`, {}, "rebooting"),
    dropSessions: () => call(`${hostPath}/drop-sessions`, {}, "dropping the SSH sessions"),
    servicesChanged: (system) => call(`${hostPath}/services`, { system }, "restarting sshd.service"),
  };
}

/** The client described by the session's environment, or undefined outside a simulated host. */
export function controlFromEnv(env: NodeJS.ProcessEnv = process.env): ControlClient | undefined {
  const socketPath = env[ENV.control];
  const host = env[ENV.host];
  return socketPath && host ? controlClient(socketPath, host) : undefined;
}

/** Records an event if the fleet is reachable; a failure is reported, never fatal. */
export async function recordEvent(
  control: ControlClient | undefined,
  kind: TimelineKind,
  detail: Readonly<Record<string, unknown>>,
  warn: (line: string) => void,
): Promise<void> {
  if (!control) return;
  try {
    await control.event(kind, detail);
  } catch (e) {
    warn(`warning: ${(e as Error).message}`);
  }
}
