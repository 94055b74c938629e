/**
 * What every host program shares: where its output goes, how it ends, how it names itself.
 */
import * as path from "node:path";
import { WRAPPER_ENV } from "./paths";

/** The program's two output streams. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** Writes straight to the process's stdout and stderr. */
export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** How the program was invoked (the wrapper passes its $0), e.g. /run/current-system/sw/bin/nixos-rebuild. */
export function argv0(fallback: string): string {
  return process.env[WRAPPER_ENV.argv0] ?? fallback;
}

/** The system whose sw/bin the program was started from, if the wrapper said so. */
export function ownSystem(): string | undefined {
  return process.env[WRAPPER_ENV.system];
}

/**
 * Runs a program's main function and sets the exit status from its result. An unexpected
 * error is printed the way the program would print a fatal error.
 */
export function runProgram(name: string, main: (argv: readonly string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${path.basename(name)}: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

/** The last lines of a program's output, for event details and error messages. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
