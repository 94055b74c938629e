/**
 * One host's SSH session across reboots: the rollout holds a Session, and when the host
 * goes away (reboot, dropped connection) it reconnects through the same pinned connector.
 */
import { HostConnectionError, HostKeyMismatchError, type Host, type HostConnector } from "../host/host";
import { RolloutError } from "./errors";

export class Session {
  private current: Host | undefined;

  constructor(readonly connector: HostConnector, readonly connectTimeoutMs: number) {}

  get name(): string {
    return this.connector.name;
  }

  /** The open connection, if there is one; never connects (for background work during a reboot). */
  get open(): Host | undefined {
    return this.current;
  }

  /** The open connection, connecting first when there is none. */
  async host(): Promise<Host> {
    if (!this.current) {
      try {
        this.current = await this.connector.connect(this.connectTimeoutMs);
      } catch (error) {
        if (error instanceof HostKeyMismatchError) throw new RolloutError(this.name, "connect", error.message, undefined, undefined, error);
        throw new RolloutError(
          this.name,
          "connect",
          error instanceof Error ? error.message : String(error),
          "check that the host is up and reachable over SSH with the configured user, port and key.",
          undefined,
          error,
        );
      }
    }
    return this.current;
  }

  /** Connects once with its own deadline, replacing the current connection. Errors are not wrapped. */
  async reconnect(timeoutMs: number): Promise<Host> {
    await this.close();
    this.current = await this.connector.connect(Math.min(timeoutMs, this.connectTimeoutMs));
    return this.current;
  }

  async close(): Promise<void> {
    const h = this.current;
    this.current = undefined;
    if (h) await h.close().catch(() => undefined);
  }
}

/** Errors that mean "the host is not reachable right now", worth retrying while it boots. */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof HostKeyMismatchError) return false;
  if (error instanceof HostConnectionError) return true;
  const code = (error as { code?: string } | undefined)?.code;
  return typeof code === "string" && ["ECONNREFUSED", "EHOSTUNREACH", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH"].includes(code);
}
