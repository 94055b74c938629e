/**
 * The implementations of the providers, as the serialized providers (bootstrap.ts) load them
 * from the project being run, after checking that this project may act on the state (the rule
 * is in provenance.ts). State written earlier calls these functions by name: keep this file's
 * path and its exports' names and signatures.
 */
import * as path from "node:path";
import type { Implementation } from "./engine";
import { BUILD_GROUPS, HOST_GROUPS } from "./wire";
import { compatibility, formatProvenance, isAccepted, mismatchMessage, projectProvenance, storedWriter } from "./provenance";

type Props = Record<string, unknown>;
let host: Implementation<Props> | undefined;
let fleetBuild: Implementation<Props> | undefined;

/**
 * engine.ts, loaded only by the providers: the program loads this file for `writer()`, and
 * engine.ts brings the recorded-state decisions and what they import.
 */
function facing(): typeof import("./engine") {
  return require("./engine") as typeof import("./engine");
}

/** This project's folder: dist/providers/ is two levels below it once compiled. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Throws, saying what to do, unless this project may act on state written by `writtenBy`. */
export function admit(writtenBy: string): void {
  const running = projectProvenance(PROJECT_DIR);
  const verdict = compatibility(writtenBy, running);
  if (!isAccepted(verdict)) throw new Error(`nixos-fleet: ${mismatchMessage(verdict, writtenBy, running, PROJECT_DIR)}`);
}

/**
 * Throws unless this project may act on the provider written by `writtenBy` and on the recorded
 * state `olds` an update compares with: an older checkout must not update or diff hosts whose
 * state a newer version wrote any more than it may refresh or delete them.
 */
function admitAll(writtenBy: string, olds: Readonly<Record<string, unknown>> | undefined): void {
  admit(writtenBy);
  const stored = storedWriter(olds);
  if (stored !== undefined && stored !== writtenBy) admit(stored);
}

/**
 * The NixosHost implementation of this project, for state written by `writtenBy` (and `olds`, see
 * admitAll), facing the engine with its properties grouped (wire.ts).
 */
export function hostImplementation(writtenBy: string, olds?: Readonly<Record<string, unknown>>): Implementation<Props> {
  admitAll(writtenBy, olds);
  return (host ??= facing().engineFacing(require("./impl") as typeof import("./impl"), facing().grouped(HOST_GROUPS)));
}

/** The FleetBuild implementation of this project, for state written by `writtenBy` (and `olds`, see admitAll), each host's build grouped (wire.ts). */
export function fleetBuildImplementation(writtenBy: string, olds?: Readonly<Record<string, unknown>>): Implementation<Props> {
  admitAll(writtenBy, olds);
  return (fleetBuild ??= facing().engineFacing(require("./fleetBuildImpl") as typeof import("./fleetBuildImpl"), facing().groupedByHost(BUILD_GROUPS)));
}

/** What state written by 0.2.0 calls for its NixosBuilds, which the FleetBuild replaced (legacyBuild.ts). */
export function buildImplementation(writtenBy: string, olds?: Readonly<Record<string, unknown>>): Implementation<Props> {
  admitAll(writtenBy, olds);
  return (require("./legacyBuild") as typeof import("./legacyBuild")).legacyBuild;
}

/** The GeneratedHostKey implementation of this project, for state written by `writtenBy` (and `olds`, see admitAll). */
export function hostKeyImplementation(writtenBy: string, olds?: Readonly<Record<string, unknown>>): typeof import("./hostKeyImpl") {
  admitAll(writtenBy, olds);
  return require("./hostKeyImpl") as typeof import("./hostKeyImpl");
}

/** What this project records as the writer of the state (`name@version` of its package.json). */
export function writer(): string {
  return formatProvenance(projectProvenance(PROJECT_DIR));
}
