/**
 * Pure decisions on the NixosHost's recorded state: whether the host still runs what its last
 * rollout left (drift), the diff the engine is given, and the state recorded after a failure.
 */
import { NO_CHANGES } from "../lib/rollout/changes";
import type { HostOutputs, TrackedOutputs } from "../lib/rollout/outputs";
import { fileHashes } from "../lib/nixos/staging";
import { changedInputs, type HostProps } from "./props";

/** The key the diff names when the host runs another system than its last rollout left. */
export const RUNNING_SYSTEM = "runningSystem";
/** The key the diff names when managed files under /etc/nixos were found changed (a configuration built ahead). */
export const EDITED_FILES = "editedFiles";

/**
 * Why the recorded state says the host is not as its last rollout left it, or undefined when
 * it is. State recorded before the provider tracked this (no rolledOutSystem) shows no drift.
 */
export function driftOf(olds: Partial<HostProps>): string | undefined {
  if (olds.readError) return `the host could not be read when its state was recorded (${olds.readError})`;
  const edited = Object.keys(olds.editedFiles ?? {});
  if (edited.length > 0) return `${edited.join(", ")} under /etc/nixos ${edited.length === 1 ? "is" : "are"} not as the last rollout left ${edited.length === 1 ? "it" : "them"}`;
  if (olds.rolledOutSystem === undefined) return undefined;
  if (olds.rolledOutSystem === "") return `no rollout of ${olds.name ?? "the host"} has finished yet; it runs ${olds.systemPath || "an unknown system"}`;
  if (olds.systemPath !== olds.rolledOutSystem) {
    return `the host runs ${olds.systemPath || "an unknown system"}, not ${olds.rolledOutSystem} as its last rollout left it`;
  }
  return undefined;
}

/** What differs between the recorded state and the new inputs: input names, plus runningSystem on drift. */
export function changedKeys(olds: Partial<HostProps>, news: Partial<HostProps>): string[] {
  const keys = changedInputs(olds, news);
  if (Object.keys(olds.editedFiles ?? {}).length > 0) keys.push(EDITED_FILES);
  return driftOf(olds) === undefined || keys.includes(EDITED_FILES) ? keys : [...keys, RUNNING_SYSTEM];
}

/** The engine's diff: a renamed host is replaced; any changed key or drift is an update. */
export function diffHost(olds: Partial<HostProps>, news: Partial<HostProps>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces = olds.name !== news.name ? ["name"] : [];
  return { changes: changedKeys(olds, news).length > 0 || replaces.length > 0, replaces, deleteBeforeReplace: false };
}

/** What a read of the host found after a failed rollout, or why it could not be read. */
export type LiveRead =
  | { readonly kind: "read"; readonly files: Readonly<Record<string, string>>; readonly outputs: HostOutputs }
  | { readonly kind: "unreachable"; readonly reason: string };

/** Whether the host could be read. */
export function isRead(live: LiveRead): live is Extract<LiveRead, { kind: "read" }> {
  return live.kind === "read";
}

/**
 * The properties recorded when a rollout fails: the new inputs (with the engine's own keys,
 * such as the serialized provider), but the files and systems the host really has. What the
 * last successful rollout left stays as it was, so the next run compares against it.
 * When the host cannot be read, the earlier outputs are kept, the system is unknown, and
 * readError says why (the next run then rolls the host out again). Either way the failed
 * rollout reports no change (`changes`).
 */
export function failedRolloutProps(
  news: HostProps,
  olds: Partial<HostProps> | undefined,
  live: LiveRead,
  pinnedHostKey: string,
): HostProps {
  const tracked: TrackedOutputs = {
    rolledOutSystem: olds?.rolledOutSystem ?? "",
    pinnedHostKey,
    readError: isRead(live) ? "" : live.reason,
  };
  if (isRead(live)) return withLiveFiles({ ...news, ...live.outputs, ...tracked }, live.files);
  const staged = news.staged ? { staged: olds?.staged ?? news.staged } : {};
  // A failed rollout reports no change.
  return { ...news, ...outputsOf(olds), changes: NO_CHANGES, files: { ...(olds?.files ?? news.files) }, ...staged, systemPath: "", ...tracked };
}

/**
 * The properties with the managed files found on the host: their contents, or, when the
 * configuration was built ahead (the FleetBuild keeps the contents, and the state holds them
 * once), the hashes stay those rolled out and editedFiles holds the files found otherwise (as
 * found; null: missing), so that the diff shows what was changed by hand.
 */
export function withLiveFiles(props: HostProps, live: Readonly<Record<string, string>>): HostProps {
  const { editedFiles: _before, ...rest } = props;
  if (!props.staged) return { ...rest, files: { ...live } };
  const found = fileHashes(live);
  const expected = props.staged.fileHashes;
  const edited = Object.keys(expected).filter((n) => found[n] !== expected[n]);
  if (edited.length === 0) return rest;
  return { ...rest, editedFiles: Object.fromEntries(edited.map((n) => [n, live[n] ?? null])) };
}

function outputsOf(olds: Partial<HostProps> | undefined): Partial<HostOutputs> {
  if (!olds) return {};
  const { systemPath, generation, bootedKernel, bootId, rebooted, rebootedAt, rebootReason, pendingReboot } = olds;
  const all = { systemPath, generation, bootedKernel, bootId, rebooted, rebootedAt, rebootReason, pendingReboot };
  // The engine's struct encoding has no undefined.
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

/**
 * An error the Pulumi dynamic provider records as partial state: `id` and `properties` become
 * the resource's state, `reasons` what the engine shows. The message stays the rollout's.
 */
export class RecordedFailure<P extends object = HostProps> extends Error {
  readonly reasons: string[];
  constructor(readonly id: string, readonly properties: P, override readonly cause: Error) {
    super(cause.message);
    this.name = cause.name;
    this.reasons = [cause.message];
  }
}

/**
 * The properties to record when only the channel step failed: the host runs its new system, but
 * its channel is still the one recorded before, so the state keeps that one and the next run's
 * diff sets it again.
 */
export function channelNotSet(news: HostProps, olds: Partial<HostProps> | undefined): HostProps {
  const { channel: _wanted, ...rest } = news;
  return olds?.channel ? { ...rest, channel: olds.channel } : rest;
}
