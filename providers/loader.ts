/**
 * The implementations of the providers, as the serialized providers (bootstrap.ts) load them
 * from the project being run, after checking that this project may act on the state (the rule
 * is in provenance.ts). State written earlier calls these functions by name: keep this file's
 * path and its exports' names and signatures.
 */
import * as path from "node:path";
import { compatibility, formatProvenance, isAccepted, mismatchMessage, projectProvenance } from "./provenance";

/** This project's folder: dist/providers/ is two levels below it once compiled. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Throws, saying what to do, unless this project may act on state written by `writtenBy`. */
export function admit(writtenBy: string): void {
  const running = projectProvenance(PROJECT_DIR);
  const verdict = compatibility(writtenBy, running);
  if (!isAccepted(verdict)) throw new Error(`nixos-fleet: ${mismatchMessage(verdict, writtenBy, running, PROJECT_DIR)}`);
}

/** The NixosHost implementation of this project, for state written by `writtenBy`. */
export function hostImplementation(writtenBy: string): typeof import("./impl") {
  admit(writtenBy);
  return require("./impl") as typeof import("./impl");
}

/** The NixosBuild implementation of this project, for state written by `writtenBy`. */
export function buildImplementation(writtenBy: string): typeof import("./buildImpl") {
  admit(writtenBy);
  return require("./buildImpl") as typeof import("./buildImpl");
}

/** What this project records as the writer of the state (`name@version` of its package.json). */
export function writer(): string {
  return formatProvenance(projectProvenance(PROJECT_DIR));
}
