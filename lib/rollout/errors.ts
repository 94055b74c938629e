/**
 * The one error family of a rollout: every failure names the host, the step, and what the
 * user can do next; remote failures also carry the command, its exit status and the tail of
 * its output.
 */

/** The phases of a host's rollout, as they appear in messages. */
export type Step =
  | "connect"
  | "lock"
  | "read"
  | "preflight"
  | "write"
  | "stage"
  | "build"
  | "restore"
  | "drain"
  | "profile"
  | "activate"
  | "confirm"
  | "reboot"
  | "boot"
  | "settle"
  | "ready"
  | "uncordon"
  | "health"
  | "channel"
  | "rollback"
  | "remove";

/** Details of a remote command that failed. */
export interface CommandFailure {
  readonly command: string;
  readonly exitCode: number | null;
  readonly output: string;
}

/** Keeps the last `lines` lines of a command's output for an error message. */
export function tail(output: string, lines = 25): string {
  const all = output.replace(/\s+$/, "").split("\n");
  return all.slice(Math.max(0, all.length - lines)).join("\n");
}

export class RolloutError extends Error {
  constructor(
    readonly host: string,
    readonly step: Step,
    readonly summary: string,
    readonly hint?: string,
    readonly failure?: CommandFailure,
    override readonly cause?: unknown,
  ) {
    super(RolloutError.format(host, step, summary, hint, failure));
    this.name = "RolloutError";
  }

  private static format(host: string, step: Step, summary: string, hint?: string, failure?: CommandFailure): string {
    const parts = [`${host}: ${step} failed: ${summary}`];
    if (failure) {
      parts.push(`command: ${failure.command} (exit ${failure.exitCode ?? "killed"})`);
      const t = tail(failure.output);
      if (t) parts.push(`last output:\n${t.split("\n").map((l) => `  | ${l}`).join("\n")}`);
    }
    if (hint) parts.push(`what to do: ${hint}`);
    return parts.join("\n");
  }
}

/** Wraps any error as a RolloutError of `step`, keeping one that already is. */
export function inStep(host: string, step: Step, error: unknown, hint?: string): RolloutError {
  if (error instanceof RolloutError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RolloutError(host, step, message, hint, undefined, error);
}
