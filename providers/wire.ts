/**
 * The shape in which the properties of a NixosHost or FleetBuild cross the engine and sit in the
 * state: settings grouped by what they are about, so that a host is a dozen properties rather
 * than thirty. The Pulumi SDK's cost in a preview (an Output, its promises, a serialization and
 * a protobuf value each) is per top-level property, and so was most of the program's cost per
 * host (README.md "Fleets of hundreds"). The implementations (impl.ts, fleetBuildImpl.ts) work on flat
 * properties; engine.ts converts at the boundary with these functions, both ways. Pure.
 *
 * Secrets stay at the top level, since the SDK marks outputs secret by top-level name, and so do
 * a build's rendered `files`, whose line diff is what a preview is read for. State written
 * before the grouping (0.1.0) is flat; `fromWire` reads both.
 */
import type { HostOutputs, TrackedOutputs } from "../lib/rollout/outputs";
import type { BuildSpec, HostSpec } from "../lib/rollout/spec";

/** Group name → the flat keys it holds. Keys of no group stay at the top level. */
export type Groups = Readonly<Record<string, readonly string[]>>;

/** How a host is reached over SSH (its login key is the secret `sshPrivateKey`, apart). */
const SSH = ["address", "port", "user", "hostKey", "trustOnFirstUse"] as const satisfies readonly (keyof HostSpec & keyof BuildSpec)[];

/** A NixosHost: `ssh`, `nixos` (what it runs and how it is applied), `rollout` (how it is drained, judged and waited for), and its outputs `status` and `tracked`. */
export const HOST_GROUPS = {
  ssh: SSH,
  nixos: ["files", "staged", "channel", "flake", "action", "rebootPolicy"],
  rollout: ["drain", "gates", "timeouts", "disruption"],
  status: ["systemPath", "generation", "bootedKernel", "bootId", "rebooted", "rebootedAt", "rebootReason", "pendingReboot", "changes"],
  tracked: ["rolledOutSystem", "pinnedHostKey", "readError"],
} as const satisfies {
  ssh: readonly (keyof HostSpec)[];
  nixos: readonly (keyof HostSpec)[];
  rollout: readonly (keyof HostSpec)[];
  status: readonly (keyof HostOutputs)[];
  tracked: readonly (keyof TrackedOutputs)[];
};

/** A host's build, in a FleetBuild (and a NixosBuild before 0.3.0): `ssh`, and `build` (where it is staged, what it is built from, its deadlines); its files stay apart. */
export const BUILD_GROUPS = {
  ssh: SSH,
  build: ["stagingDir", "channel", "flake", "timeouts"],
} as const satisfies { ssh: readonly (keyof BuildSpec)[]; build: readonly (keyof BuildSpec)[] };

/** Whether `props` has the grouped shape (written since 0.2.0) rather than the flat one of 0.1.0. */
export function isWire(props: Readonly<Record<string, unknown>>): boolean {
  return typeof props.ssh === "object" && props.ssh !== null;
}

/**
 * The grouped shape of flat properties. Keys of no group (the name, the secrets, the engine's
 * own such as the serialized provider) stay at the top level; undefined values are left out (the
 * engine's struct encoding has none); a group with nothing in it is absent.
 */
export function toWire(groups: Groups, props: object): Record<string, unknown> {
  const groupOf = new Map(Object.entries(groups).flatMap(([g, keys]) => keys.map((k) => [k, g] as const)));
  const out: Record<string, unknown> = {};
  const grouped: Record<string, Record<string, unknown>> = {};
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined) continue;
    const g = groupOf.get(k);
    if (g === undefined) out[k] = v;
    else (grouped[g] ??= {})[k] = v;
  }
  for (const g of Object.keys(groups)) if (grouped[g] !== undefined) out[g] = grouped[g];
  return out;
}

/**
 * The flat properties of a state or of inputs in either shape: groups are spread back to the top
 * level; flat properties (state written by 0.1.0) are taken as they are.
 */
export function fromWire<T>(groups: Groups, props: Readonly<Record<string, unknown>>): T {
  if (!isWire(props)) return { ...props } as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined) continue;
    if (Object.hasOwn(groups, k) && typeof v === "object" && v !== null) Object.assign(out, v);
    else out[k] = v;
  }
  return out as T;
}

/** The wire shape of a bag whose `hosts` holds a bag per host (a FleetBuild): each host's grouped by `groups`, the rest as it is. */
export function toWireByHost(groups: Groups, props: object): Record<string, unknown> {
  const { hosts, ...rest } = props as { hosts?: Readonly<Record<string, object>> };
  const out = toWire({}, rest);
  if (hosts !== undefined) out.hosts = Object.fromEntries(Object.entries(hosts).map(([name, h]) => [name, toWire(groups, h)]));
  return out;
}

/** The flat bag of toWireByHost's shape: each host's groups spread back. */
export function fromWireByHost<T>(groups: Groups, props: Readonly<Record<string, unknown>>): T {
  const hosts = props.hosts as Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined;
  if (hosts === undefined) return { ...props } as T;
  return { ...props, hosts: Object.fromEntries(Object.entries(hosts).map(([name, h]) => [name, fromWire(groups, h)])) } as T;
}
