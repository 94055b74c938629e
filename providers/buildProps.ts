/**
 * The NixosBuild resource's property bag and the pure decisions on it: what its diff tells the
 * engine, and whether an update must build again or only records new settings.
 */
import type { BuildSpec } from "../lib/rollout/spec";
import { sameValue } from "./props";

/** What a NixosBuild records: its inputs, the system it built and the host key it trusted. */
export type BuildProps = BuildSpec & {
  /** Store path of the built system; "" when a refresh found it gone (the next run builds again). */
  readonly system?: string;
  /** Host key trusted on first use; "" when the inventory pins the key. */
  readonly pinnedHostKey?: string;
};

/** The inputs of a NixosBuild, in one place. */
export const BUILD_INPUTS = ["name", "address", "port", "user", "hostKey", "trustOnFirstUse", "sshPrivateKey", "files", "stagingDir", "channel", "flake", "timeouts"] as const satisfies readonly (keyof BuildSpec)[];

/** Inputs whose change means another system: the files, where they are staged, the channel or flake configuration they are built from. */
const REBUILD_INPUTS = ["files", "stagingDir", "channel", "flake"] as const satisfies readonly (keyof BuildSpec)[];

/** Secret inputs, kept secret in the outputs. */
export const BUILD_SECRET_PROPS = ["sshPrivateKey"] as const;

/** The inputs of a property bag (the engine's own keys, such as its serialized provider, stay). */
export function buildSpecOf(props: BuildProps): BuildSpec {
  const { system: _system, pinnedHostKey: _pin, ...spec } = props;
  return spec;
}

/** Why the update must build: changed files, or a build the state says is gone; undefined when none. */
export function rebuildReason(olds: Partial<BuildProps>, news: BuildProps): string | undefined {
  const changed = REBUILD_INPUTS.filter((k) => !sameValue(olds[k], news[k]));
  if (changed.length > 0) return `${changed.join(" and ")} changed`;
  if (!olds.system) return "the last build is gone from the host (found by a refresh)";
  return undefined;
}

/** The engine's diff: a renamed host is replaced; a changed input or a lost build is an update. */
export function diffBuild(olds: Partial<BuildProps>, news: BuildProps): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces = olds.name !== news.name ? ["name"] : [];
  const changed = BUILD_INPUTS.some((k) => !sameValue(olds[k], news[k])) || !olds.system;
  return { changes: changed || replaces.length > 0, replaces, deleteBeforeReplace: false };
}
