/**
 * What the providers share to reach a host: progress lines, the SSH connector built from a
 * spec and its recorded state, and the host key pinned on first use.
 */
import type { SshConnector } from "../lib/host/ssh";
import { fingerprint, parsePublicKeyLine } from "../lib/host/keys";
import type { HostAccess } from "../lib/rollout/spec";

/** Progress lines go to the provider's output, which the engine shows with the resource. */
export function progress(line: string): void {
  try {
    console.log(line);
  } catch {
    // The output pipe breaks (EPIPE) when the CLI is gone; a line nobody can read must not stop the rollout's safe stop.
  }
}

/** Whether a process of this machine exists (signal 0 only checks). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What the recorded state adds to the inputs when connecting. */
export interface ConnectState {
  /** A host key trusted on first use in an earlier run. */
  readonly trustedHostKey?: string;
  /** The login key before a rotation, offered when the host refuses the new one. */
  readonly previousPrivateKey?: string;
}

/** The SSH connector of a host, with what its recorded state adds. */
export function connectorFor(spec: HostAccess, state: ConnectState = {}): SshConnector {
  // Loaded here, not at the top: preview and diff never need ssh2.
  const { sshConnector } = require("../lib/host/ssh") as typeof import("../lib/host/ssh");
  return sshConnector({
    name: spec.name,
    address: spec.address,
    port: spec.port,
    user: spec.user,
    privateKey: spec.sshPrivateKey,
    hostKey: spec.hostKey,
    trustOnFirstUse: spec.trustOnFirstUse,
    trustedHostKey: state.trustedHostKey,
    previousPrivateKey: state.previousPrivateKey,
    notice: progress,
  });
}

/** The host key to record as trusted on first use: none when the inventory pins one. */
export function tofuPin(spec: HostAccess, connector: SshConnector, before: string | undefined): string {
  if (spec.hostKey.trim() !== "") return "";
  const pinned = connector.pinnedHostKey;
  if (pinned && !before) progress(`${spec.name}: trusted host key ${fingerprint(parsePublicKeyLine(pinned).blob)} on first use; every later connection must present it`);
  return pinned;
}
