/**
 * One remote command on one SSH channel: standard input, combined output as it arrives,
 * the exit status, and a deadline that kills the command and closes the channel.
 */
import { StringDecoder } from "node:string_decoder";
import type { ClientChannel } from "ssh2";
import { HostConnectionError, type ExecOptions, type ExecResult } from "./host";
import { timerDelay } from "./timer";

/**
 * A remote command outlived its deadline. Its channel was closed and it was sent SIGKILL, which
 * servers that refuse "signal" requests ignore: the command may still run on the host.
 */
export class CommandTimeoutError extends Error {
  constructor(readonly host: string, readonly command: string, readonly timeoutMs: number, readonly outputTail: string) {
    super(
      `${host}: \`${command}\` did not finish within ${timeoutMs} ms; gave up and closed its SSH channel (the command may still be running on the host).` +
        (outputTail ? ` Last output:\n${outputTail}` : " It printed nothing."),
    );
    this.name = "CommandTimeoutError";
  }
}

const TAIL_CHARS = 2000;

/** Runs `command` on an opened exec channel and resolves with its exit status, whatever it is. */
export function runOnChannel(ch: ClientChannel, command: string, options: ExecOptions, host: string): Promise<ExecResult> {
  const label = command.split("\n")[0];
  return new Promise<ExecResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let tail = "";
    let code: number | null | undefined;
    let signal: string | undefined;
    let finished = false;
    const outDecoder = new StringDecoder("utf8");
    const errDecoder = new StringDecoder("utf8");
    const emit = (text: string) => {
      if (!text) return;
      tail = (tail + text).slice(-TAIL_CHARS);
      options.onOutput?.(text);
    };
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => {
            if (finished) return;
            finished = true;
            // Ask sshd to kill the command (some OpenSSH builds refuse and only log it), then drop the channel.
            try {
              ch.signal("KILL");
            } catch {
              // the channel may already be half closed; closing it below is what matters
            }
            ch.close();
            reject(new CommandTimeoutError(host, label, options.timeoutMs as number, tail));
          }, timerDelay(options.timeoutMs))
        : undefined;
    ch.on("data", (chunk: Buffer) => {
      out.push(chunk);
      emit(outDecoder.write(chunk));
    });
    ch.stderr.on("data", (chunk: Buffer) => {
      err.push(chunk);
      emit(errDecoder.write(chunk));
    });
    ch.on("exit", (c: number | null, s?: string) => {
      code = typeof c === "number" ? c : null;
      if (typeof s === "string") signal = s;
    });
    ch.on("close", () => {
      if (timer) clearTimeout(timer);
      if (finished) return;
      finished = true;
      emit(outDecoder.end());
      emit(errDecoder.end());
      if (code === undefined) {
        reject(new HostConnectionError(host, `\`${label}\` ended without an exit status: the session was closed by the host (connection dropped?)`));
        return;
      }
      const result: ExecResult = { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
      resolve(signal !== undefined ? { ...result, signal } : result);
    });
    if (options.stdin !== undefined) ch.end(options.stdin);
    else ch.end();
  });
}
