/**
 * The FleetBuild resource's property bag and the pure decisions on it: which hosts an update
 * builds and which keep the system built before, what its diff tells the engine, and what is
 * recorded when some builds fail.
 */
import type { BuildSpec } from "../lib/rollout/spec";
import { sameValue } from "./props";

/** One host's build inputs as the FleetBuild holds them: a BuildSpec without its name (the key) and login key (kept apart, secret). */
export type HostBuild = Omit<BuildSpec, "name" | "sshPrivateKey">;

/** What a FleetBuild records: per host, its inputs, the system built and the host key trusted. */
export interface FleetBuildProps {
  /** Per host, its build inputs; its `files` are its own, beside the fleet's `sharedFiles`. */
  readonly hosts: Readonly<Record<string, HostBuild>>;
  /**
   * Files every host renders with the same text (the project's own modules), held once for the
   * fleet instead of once per host (splitSharedFiles). A host's files are these and its own, its
   * own first. Absent in state written by 0.3.0, whose hosts hold all their files.
   */
  readonly sharedFiles?: Readonly<Record<string, string>>;
  /** Per host, its SSH login key: one secret property, so that `hosts` (the Nix a preview shows) stays readable. */
  readonly sshPrivateKeys: Readonly<Record<string, string>>;
  /** Per host, the store path of its built system; absent or "" when a refresh found it gone (the next run builds again). */
  readonly systems?: Readonly<Record<string, string>>;
  /** Per host, the host key trusted on first use; "" when the inventory pins the key. */
  readonly pinnedHostKeys?: Readonly<Record<string, string>>;
}

/** Inputs of a host whose change means another system: its files, where they are staged, the channel or flake configuration they are built from. */
const REBUILD_INPUTS = ["files", "stagingDir", "channel", "flake"] as const satisfies readonly (keyof HostBuild)[];

/** What an update does for one host. */
export type HostBuildStep = { readonly kind: "build"; readonly why: string } | { readonly kind: "keep" };

/** Whether the step builds. */
export function builds(step: HostBuildStep): step is Extract<HostBuildStep, { kind: "build" }> {
  return step.kind === "build";
}

/**
 * The files of a fleet split into those every host renders with the same text, held once, and
 * each host's own. A fleet of one host shares nothing: its files are all its own.
 */
export function splitSharedFiles(files: Readonly<Record<string, Readonly<Record<string, string>>>>): {
  shared: Record<string, string>;
  own: Record<string, Record<string, string>>;
} {
  const hosts = Object.values(files);
  const shared: Record<string, string> = {};
  if (hosts.length > 1) {
    for (const [path, text] of Object.entries(hosts[0])) if (hosts.every((h) => Object.hasOwn(h, path) && h[path] === text)) shared[path] = text;
  }
  const own = Object.fromEntries(Object.entries(files).map(([name, f]) => [name, Object.fromEntries(Object.entries(f).filter(([path]) => !Object.hasOwn(shared, path)))]));
  return { shared, own };
}

/** One host's build inputs with every file it renders: the fleet's shared files and its own. */
export function hostBuildOf(props: Pick<FleetBuildProps, "hosts" | "sharedFiles">, name: string): HostBuild | undefined {
  const host = props.hosts[name];
  if (host === undefined || props.sharedFiles === undefined) return host;
  return { ...host, files: { ...props.sharedFiles, ...host.files } };
}

/** The BuildSpec of one host of the bag, with every file it renders. */
export function buildSpecOf(props: FleetBuildProps, name: string): BuildSpec {
  const host = hostBuildOf(props, name);
  if (host === undefined) throw new Error(`${name} is no host of this FleetBuild (${Object.keys(props.hosts).join(", ")})`);
  return { ...host, name, sshPrivateKey: props.sshPrivateKeys[name] ?? "" };
}

/** Why a host must be built (its recorded build `before`, with the `system` built then, and its new inputs `after`), or undefined when that system still stands. */
export function rebuildReason(before: HostBuild | undefined, system: string | undefined, after: HostBuild): string | undefined {
  if (before === undefined) return "a new host of the fleet";
  const changed = REBUILD_INPUTS.filter((k) => !sameValue(before[k], after[k]));
  if (changed.length > 0) return `${changed.join(" and ")} changed`;
  if (!system) return "the last build is gone from the host (found by a refresh)";
  return undefined;
}

/** Per host of `news`, in name order: build it (and why), or keep the system `olds` recorded. */
export function planBuilds(olds: FleetBuildProps | undefined, news: FleetBuildProps): Map<string, HostBuildStep> {
  const plan = new Map<string, HostBuildStep>();
  for (const name of Object.keys(news.hosts).sort()) {
    const why = rebuildReason(olds && hostBuildOf(olds, name), olds?.systems?.[name], buildSpecOf(news, name));
    plan.set(name, why === undefined ? { kind: "keep" } : { kind: "build", why });
  }
  return plan;
}

/** The engine's diff: any host added, removed, changed or with its build gone is an update; a FleetBuild is never replaced. */
export function diffFleetBuild(olds: Partial<FleetBuildProps>, news: FleetBuildProps): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const lost = Object.keys(news.hosts).some((name) => !olds.systems?.[name]);
  const changes = lost || !sameValue(olds.hosts, news.hosts) || !sameValue(olds.sharedFiles ?? {}, news.sharedFiles ?? {}) || !sameValue(olds.sshPrivateKeys, news.sshPrivateKeys);
  return { changes, replaces: [], deleteBeforeReplace: false };
}

/** What one host's build came to. */
export type HostBuildResult = { readonly system: string; readonly pinnedHostKey: string } | { readonly error: Error };

function failed(r: HostBuildResult): r is { readonly error: Error } {
  return "error" in r;
}

/**
 * What to record after the builds: a host built or kept gets its new inputs and system; a host
 * whose build failed keeps what `olds` recorded of it (a new host is left out), so the next run's
 * diff sees its change again and builds it once more. Hosts left out of `news` are gone. The
 * shared files recorded are the new ones, so a failed host keeps every file it was built from as
 * its own; its recorded staging folder, which hashes them all, is what marks it for a rebuild.
 */
export function recordedBuilds(olds: FleetBuildProps | undefined, news: FleetBuildProps, results: ReadonlyMap<string, HostBuildResult>): FleetBuildProps {
  const hosts: Record<string, HostBuild> = {};
  const keys: Record<string, string> = {};
  const systems: Record<string, string> = {};
  const pins: Record<string, string> = {};
  for (const name of Object.keys(news.hosts).sort()) {
    const result = results.get(name);
    const failedHere = result !== undefined && failed(result);
    const from = failedHere ? olds : news;
    const host = failedHere ? olds && hostBuildOf(olds, name) : news.hosts[name];
    if (host === undefined) continue;
    hosts[name] = host;
    keys[name] = from?.sshPrivateKeys[name] ?? "";
    const done = result !== undefined && !failed(result) ? result : undefined;
    systems[name] = done?.system ?? olds?.systems?.[name] ?? "";
    pins[name] = done?.pinnedHostKey ?? olds?.pinnedHostKeys?.[name] ?? "";
  }
  return { ...news, hosts, sshPrivateKeys: keys, systems, pinnedHostKeys: pins };
}

/** The errors of the hosts whose build failed, in name order. */
export function buildErrors(results: ReadonlyMap<string, HostBuildResult>): { host: string; error: Error }[] {
  return [...results].filter(([, r]) => failed(r)).map(([host, r]) => ({ host, error: (r as { error: Error }).error })).sort((a, b) => a.host.localeCompare(b.host));
}
