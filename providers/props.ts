/**
 * The NixosHost resource's property bag as the Pulumi engine stores it: the inputs (HostSpec)
 * plus the outputs of the last rollout.
 */
import { type HostOutputs, OUTPUT_KEYS, type TrackedOutputs } from "../lib/rollout/outputs";
import type { HostSpec } from "../lib/rollout/spec";

export type HostProps = HostSpec &
  Partial<HostOutputs> &
  Partial<TrackedOutputs> & {
    /**
     * With a configuration built ahead (the state keeps hashes, not contents): the managed
     * files found on the host with other contents than those rolled out, as found (null:
     * missing), so that a refresh shows what was changed by hand. Absent when all are as rolled out.
     */
    readonly editedFiles?: Readonly<Record<string, string | null>>;
  };

/** The inputs of a property bag: everything but the outputs (the engine's own keys stay). */
export function specOf(props: HostProps): HostSpec {
  const spec: Record<string, unknown> = { ...props };
  for (const k of [...OUTPUT_KEYS, "editedFiles"]) delete spec[k];
  return spec as unknown as HostSpec;
}

/** Inputs whose change needs a rollout, compared by value. */
export const ROLLOUT_INPUTS = [
  "files",
  "staged",
  "channel",
  "flake",
  "secretFiles",
  "action",
  "rebootPolicy",
  "address",
  "port",
  "user",
  "hostKey",
  "trustOnFirstUse",
  "sshPrivateKey",
  "kubernetes",
  "drain",
  "gates",
  "timeouts",
  "disruption",
] as const satisfies readonly (keyof HostSpec)[];

/** Inputs that only change how the next rollout reaches or judges the host, not the host itself. */
export const QUIET_INPUTS: ReadonlySet<string> = new Set(["sshPrivateKey", "kubernetes", "drain", "gates", "timeouts", "trustOnFirstUse", "disruption"]);

/** Inputs that are secret and stay secret in the outputs. */
export const SECRET_PROPS = ["sshPrivateKey", "secretFiles", "kubernetes"] as const;

/** Deep equality for the JSON-like values the engine hands us. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined).sort();
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The engine's marker of a value not known yet, such as an output of a resource a preview only plans to change (the SDK's `rpc.unknownValue`). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Whether a host's build ahead is the one recorded. In a preview of a change to some hosts, the
 * FleetBuild's outputs are not known yet, so every host's built system is UNKNOWN: a host whose
 * staging folder and files are those recorded is the same, since the FleetBuild builds only the
 * hosts whose files, channel or flake changed (the folder's name hashes all three) and keeps the
 * others' systems. Once known (in the update itself), the system is compared too.
 */
function sameStaged(olds: HostSpec["staged"], news: HostSpec["staged"]): boolean {
  if (olds === undefined || news === undefined || news.system !== UNKNOWN) return sameValue(olds, news);
  return olds.dir === news.dir && sameValue(olds.fileHashes, news.fileHashes);
}

/** The inputs of a property bag that differ from `news`. */
export function changedInputs(olds: Partial<HostProps>, news: Partial<HostProps>): string[] {
  return ROLLOUT_INPUTS.filter((k) => !(k === "staged" ? sameStaged(olds.staged, news.staged) : sameValue(olds[k], news[k])));
}
