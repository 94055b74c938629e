/**
 * The one interface the rollout uses to talk to a machine. Production code gets an
 * SSH-backed implementation (lib/host/ssh.ts); unit tests get an in-memory fake.
 */

/** What a remote command left behind. `code` is null when the command was killed by a signal. */
export interface ExecResult {
  readonly code: number | null;
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for one remote command. */
export interface ExecOptions {
  /** Bytes written to the command's standard input, then closed. */
  readonly stdin?: string | Buffer;
  /** Give up after this long and reject with a TimeoutError naming the command. */
  readonly timeoutMs?: number;
  /** Called with each chunk of combined output as it arrives (progress, tails). */
  readonly onOutput?: (chunk: string) => void;
}

/** An open session to one host. */
export interface Host {
  /** The inventory name of the host, used in every message. */
  readonly name: string;
  /**
   * Runs `command` through the remote user's shell. Resolves with the exit status whatever
   * it is; rejects only when the connection fails or the deadline passes.
   * A dropped connection rejects with a HostConnectionError.
   */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Closes the session; safe to call twice. */
  close(): Promise<void>;
}

/** Opens sessions to one host; reconnecting after a reboot goes through here. */
export interface HostConnector {
  readonly name: string;
  /** Connects once, verifying the pinned host key; rejects on mismatch or failure. */
  connect(timeoutMs: number): Promise<Host>;
  /**
   * Whether the host's SSH port accepts a TCP connection within `timeoutMs`; never rejects.
   * Cheap enough to poll while a host reboots.
   */
  probe(timeoutMs: number): Promise<boolean>;
}

/** The connection dropped (reboot, network, sshd killed) while a command ran or before it. */
export class HostConnectionError extends Error {
  constructor(readonly host: string, message: string, override readonly cause?: unknown) {
    super(`${host}: ${message}`);
    this.name = "HostConnectionError";
  }
}

/** The host presented a key other than the pinned one. Never retried. */
export class HostKeyMismatchError extends Error {
  constructor(readonly host: string, readonly address: string, readonly expected: string, readonly presented: string) {
    super(
      `${host}: the SSH host key presented by ${address} (${presented}) does not match the pinned key (${expected}). ` +
        `Another machine may be answering at this address. If the host was reinstalled, update hosts[].hostKey in the inventory.`,
    );
    this.name = "HostKeyMismatchError";
  }
}
