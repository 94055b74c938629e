/**
 * The SSH implementation of HostConnector / Host on ssh2. One connect() is one attempt with
 * one deadline; reconnecting (after a reboot) is the caller's loop. The host key is checked
 * against the pinned OpenSSH line by comparing key blobs; a mismatch is final. With trust on
 * first use, the key seen at the first connection is pinned for every later one.
 */
import * as net from "node:net";
import { Client, utils, type ConnectConfig } from "ssh2";
import { HostConnectionError, HostKeyMismatchError, type HostConnector } from "./host";
import { timerDelay } from "./timer";
import { fingerprint, hostKeyAlgorithms, parsePublicKeyLine, publicKeyLine, type PublicKey } from "./keys";
import { SshSession, type SshHost } from "./ssh-session";

export type { SshHost } from "./ssh-session";

/** How to reach one host. */
export interface SshConnectorOptions {
  /** Inventory name, used in every message. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Client private key in OpenSSH or PEM format. */
  readonly privateKey: string;
  /** Pinned host key as an OpenSSH line; empty when none is pinned yet. */
  readonly hostKey: string;
  /** Accept the key the host presents when none is pinned, and pin it from then on. */
  readonly trustOnFirstUse: boolean;
  /** A key pinned by trust on first use in an earlier run (OpenSSH line); `hostKey` wins over it. */
  readonly trustedHostKey?: string;
  /**
   * The login key used before a rotation of `privateKey`. Offered when the host refuses
   * `privateKey`, until the new configuration authorizes the new key.
   */
  readonly previousPrivateKey?: string;
  /** Told once when a login falls back to `previousPrivateKey`. */
  readonly notice?: (line: string) => void;
}

/** A HostConnector that also tells which host key it pinned and which login key it used. */
export interface SshConnector extends HostConnector {
  /** OpenSSH line of the key presented at the last successful connect. */
  readonly presentedHostKey: string | undefined;
  /**
   * OpenSSH line of the host key every connection must present: the inventory's, else the one
   * trusted on first use (from an earlier run, or from this connector's first connection).
   * Empty while nothing is pinned yet.
   */
  readonly pinnedHostKey: string;
  /** Whether the last successful connect logged in with the previous (rotated-out) private key. */
  readonly usedPreviousKey: boolean;
  /** Whether an earlier connect needed the previous private key and a later one logged in with the new one. */
  readonly movedToNewKey: boolean;
}

/** ssh2's host key algorithms; a pinned key of another kind is verified without steering negotiation. */
const NEGOTIABLE_KEY_TYPES = new Set(["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]);
/** A dead peer (cable pulled, no FIN) is noticed after keepaliveInterval × keepaliveCountMax. */
const KEEPALIVE_INTERVAL_MS = 5000;
const KEEPALIVE_COUNT_MAX = 3;

/**
 * Builds the connector of one host. Rejects bad input here, before any connection: an
 * unparsable pinned key or private key, or no pinned key without trust on first use.
 */
export function sshConnector(o: SshConnectorOptions): SshConnector {
  let pinned: PublicKey | undefined = initialPin(o);
  if (!pinned && !o.trustOnFirstUse) {
    throw new Error(`${o.name}: no SSH host key is pinned and trust on first use is off; set the host's hostKey (ssh-keyscan -t ed25519 ${o.address}) or enable trust on first use.`);
  }
  usablePrivateKey(o.name, o.privateKey, "SSH private key");
  const keys = [o.privateKey];
  if (o.previousPrivateKey && o.previousPrivateKey !== o.privateKey) {
    usablePrivateKey(o.name, o.previousPrivateKey, "previous SSH private key");
    keys.push(o.previousPrivateKey);
  }
  let presented: string | undefined;
  let usedPrevious = false;
  let told = false;
  return {
    name: o.name,
    get presentedHostKey() {
      return presented;
    },
    get pinnedHostKey() {
      return pinned ? publicKeyLine(pinned.blob) : "";
    },
    get usedPreviousKey() {
      return usedPrevious;
    },
    get movedToNewKey() {
      return told && !usedPrevious;
    },
    async connect(timeoutMs: number): Promise<SshHost> {
      const { host, keyIndex } = await connectOnce(o, pinned, keys, timeoutMs);
      presented = host.hostKey;
      // Trust on first use: from now on this key, and only this key, is accepted.
      if (!pinned) pinned = parsePublicKeyLine(host.hostKey, `${o.name}: presented host key`);
      usedPrevious = keyIndex > 0;
      if (usedPrevious && !told) {
        told = true;
        o.notice?.(`${o.name}: the host does not accept the new SSH private key yet; logged in with the previous one until the new configuration authorizes the new key`);
      }
      return host;
    },
    probe: (timeoutMs: number) => tcpProbe(o.address, o.port, timeoutMs),
  };
}

/** The inventory's host key wins; else the key trusted on first use in an earlier run. */
function initialPin(o: SshConnectorOptions): PublicKey | undefined {
  if (o.hostKey.trim() !== "") return parsePublicKeyLine(o.hostKey, `${o.name}: hostKey`);
  if (o.trustOnFirstUse && o.trustedHostKey && o.trustedHostKey.trim() !== "") {
    return parsePublicKeyLine(o.trustedHostKey, `${o.name}: host key trusted on first use`);
  }
  return undefined;
}

function usablePrivateKey(name: string, key: string, what: string): void {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw new Error(`${name}: the ${what} cannot be used: ${parsed.message} (an unencrypted OpenSSH or PEM private key is needed)`);
}

/** One TCP connection attempt, closed at once; resolves false on any failure or at the deadline. */
function tcpProbe(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timerDelay(timeoutMs));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

/**
 * One connection attempt. The login keys are offered in order within the one connection;
 * resolves with the index of the key the host accepted.
 */
function connectOnce(o: SshConnectorOptions, pinned: PublicKey | undefined, keys: readonly string[], timeoutMs: number): Promise<{ host: SshHost; keyIndex: number }> {
  const where = `${o.address}:${o.port}`;
  const client = new Client();
  let offered = -1;
  return new Promise<{ host: SshHost; keyIndex: number }>((resolve, reject) => {
    let settled = false;
    let mismatch: HostKeyMismatchError | undefined;
    let seenKey: Buffer | undefined;
    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.removeListener("ready", onReady);
      if (error) {
        client.destroy();
        reject(error);
        return;
      }
      resolve({ host: new SshSession(o.name, where, client, publicKeyLine(seenKey ?? Buffer.alloc(0))), keyIndex: offered });
    };
    const timer = setTimeout(
      () => finish(new HostConnectionError(o.name, `could not connect to ${where} within ${timeoutMs} ms (timed out)`)),
      timerDelay(timeoutMs),
    );
    const onReady = () => finish(undefined);
    client.once("ready", onReady);
    client.on("error", (err: Error) => finish(mismatch ?? new HostConnectionError(o.name, `cannot connect to ${where}: ${describeConnectError(err, o.user)}`, err)));
    client.on("close", () => finish(mismatch ?? new HostConnectionError(o.name, `the connection to ${where} closed before the SSH session was ready`)));
    const config: ConnectConfig = {
      host: o.address,
      port: o.port,
      username: o.user,
      authHandler: () => {
        offered++;
        return offered < keys.length ? { type: "publickey", username: o.user, key: keys[offered] } : false;
      },
      readyTimeout: Math.max(1, timeoutMs),
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      hostVerifier: (key: Buffer): boolean => {
        seenKey = Buffer.from(key);
        if (!pinned) return true;
        if (pinned.blob.equals(key)) return true;
        mismatch = new HostKeyMismatchError(o.name, where, fingerprint(pinned.blob), fingerprint(key));
        return false;
      },
    };
    if (pinned && NEGOTIABLE_KEY_TYPES.has(pinned.type)) {
      config.algorithms = { serverHostKey: hostKeyAlgorithms(pinned.type) as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] };
    }
    try {
      client.connect(config);
    } catch (err) {
      finish(new HostConnectionError(o.name, `cannot connect to ${where}: ${err instanceof Error ? err.message : String(err)}`, err));
    }
  });
}

/** Names the cause of a failed connect the way a person would look for it. */
function describeConnectError(err: Error, user: string): string {
  const code = (err as { code?: unknown }).code;
  const level = (err as { level?: unknown }).level;
  if (code === "ECONNREFUSED") return "connection refused (nothing listens on the SSH port; is sshd running?)";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return `host unreachable (${code})`;
  if (code === "ETIMEDOUT") return "timed out (ETIMEDOUT)";
  if (code === "ECONNRESET") return "connection reset by the host (ECONNRESET)";
  if (level === "client-authentication") return `authentication as ${user} failed: the host does not accept the configured private key`;
  if (level === "client-timeout") return `timed out waiting for the SSH handshake (${err.message})`;
  return typeof code === "string" ? `${err.message} (${code})` : err.message;
}
