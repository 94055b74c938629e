/**
 * One connected SSH session (ssh.ts connects it): every command on a channel of its own, at
 * most MAX_CHANNELS at once, a channel sshd refuses for the moment asked for again, and every
 * running command failed at once when the connection drops.
 */
import type { Client } from "ssh2";
import { HostConnectionError, type ExecOptions, type ExecResult, type Host } from "./host";
import { runOnChannel } from "./ssh-exec";

/** An open SSH session. */
export interface SshHost extends Host {
  /** OpenSSH line of the host key this session verified. */
  readonly hostKey: string;
}

/**
 * Channels one session opens at once; more commands wait for one to close. sshd refuses
 * channels beyond its MaxSessions (10 by default, often lowered on hardened hosts) with "open
 * failed"; two is what a rollout always needed: a command and the lock's renewal beside it.
 */
export const MAX_CHANNELS = 2;

/** How often, and how far apart, a channel sshd refused for now (its MaxSessions) is asked for again: 2 s in all. */
const CHANNEL_RETRIES = 20;
const CHANNEL_RETRY_MS = 100;

/** sshd refused the channel by policy (SSH_OPEN_ADMINISTRATIVELY_PROHIBITED: its MaxSessions), which passes. */
function refusedForNow(err: Error): boolean {
  return (err as Error & { reason?: unknown }).reason === 1;
}

/** One connected session; commands run on their own channels, at most MAX_CHANNELS at once. ssh.ts's connect makes them. */
export class SshSession implements SshHost {
  private closed = false;
  private freeChannels = MAX_CHANNELS;
  private readonly waitingForChannel: (() => void)[] = [];
  private closing: Promise<void> | undefined;
  private lost: HostConnectionError | undefined;
  private readonly running = new Set<(error: HostConnectionError) => void>();

  constructor(readonly name: string, private readonly where: string, private readonly client: Client, readonly hostKey: string) {
    const drop = (why: string) => {
      if (this.lost) return;
      this.lost = new HostConnectionError(name, `the connection to ${where} was lost (${why})`);
      for (const abort of [...this.running]) abort(this.lost);
    };
    client.on("error", (err: Error) => drop(err.message));
    client.on("end", () => drop("the host closed it"));
    client.on("close", () => drop("closed"));
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.freeChannels > 0) this.freeChannels--;
    else await new Promise<void>((resolve) => this.waitingForChannel.push(resolve));
    try {
      return await this.execOnChannel(command, options);
    } finally {
      const next = this.waitingForChannel.shift();
      if (next) next();
      else this.freeChannels++;
    }
  }

  private execOnChannel(command: string, options: ExecOptions): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new HostConnectionError(this.name, `cannot run \`${firstLine(command)}\`: the session was closed`));
    if (this.lost) return Promise.reject(new HostConnectionError(this.name, `cannot run \`${firstLine(command)}\`: ${this.lost.message}`, this.lost));
    return new Promise<ExecResult>((resolve, reject) => {
      let done = false;
      const abort = (error: HostConnectionError) => {
        if (done) return;
        done = true;
        this.running.delete(abort);
        reject(new HostConnectionError(this.name, `the connection dropped while running \`${firstLine(command)}\`: ${error.message}`, error));
      };
      this.running.add(abort);
      const settle = (outcome: { result?: ExecResult; error?: Error }) => {
        if (done) return;
        done = true;
        this.running.delete(abort);
        if (outcome.error) reject(outcome.error);
        else resolve(outcome.result as ExecResult);
      };
      const open = (attempt: number) =>
        this.client.exec(command, (err, ch) => {
          if (err && refusedForNow(err) && attempt < CHANNEL_RETRIES && !done && !this.lost) {
            // sshd frees a closed session's slot a moment after its close: ask again shortly.
            setTimeout(() => tryOpen(attempt + 1), CHANNEL_RETRY_MS);
            return;
          }
          if (err) {
            settle({ error: new HostConnectionError(this.name, `could not start \`${firstLine(command)}\` on ${this.where}: ${err.message}`, err) });
            return;
          }
          if (done) {
            ch.close();
            return;
          }
          runOnChannel(ch, command, options, this.name).then(
            (result) => settle({ result }),
            (error: Error) => settle({ error: this.lost ? new HostConnectionError(this.name, `the connection dropped while running \`${firstLine(command)}\`: ${this.lost.message}`, this.lost) : error }),
          );
        });
      const tryOpen = (attempt: number) => {
        try {
          open(attempt);
        } catch (err) {
          settle({ error: new HostConnectionError(this.name, `could not start \`${firstLine(command)}\`: ${err instanceof Error ? err.message : String(err)}`, err) });
        }
      };
      tryOpen(1);
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 1000);
      this.client.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.lost) {
        clearTimeout(timer);
        this.client.destroy();
        resolve();
        return;
      }
      this.client.end();
    });
    return this.closing;
  }
}

/** The first line of a command, for messages. */
export function firstLine(command: string): string {
  const line = command.split("\n")[0];
  return line.length > 120 ? line.slice(0, 117) + "..." : line;
}
