/**
 * Which project version wrote a resource's state, and whether the project being run may act on
 * it. Each serialized provider records `name@version` of the package.json it was built from; the
 * project being run loads its own implementation and first checks that record against itself.
 *
 * The rule (README "Moving a project, CI checkouts"):
 * - the same package version is accepted whatever the build, commit or folder: a rebuild, a CI
 *   checkout or a moved project is the same code as far as the state is concerned;
 * - state written by an older version is accepted back to {@link OLDEST_READABLE_STATE}: each
 *   version reads its predecessors' state, and its next rollout of a host rewrites that host's;
 * - state written by a newer version is refused: an older checkout must not refresh, diff,
 *   update or delete hosts whose state it may not understand;
 * - state older than {@link OLDEST_READABLE_STATE}, written by another package, or whose record
 *   cannot be read is refused.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The oldest version whose recorded state this version still reads. Raise it only together with
 * a change that no longer reads older state, and say in the release notes which version to
 * update the hosts with first.
 */
export const OLDEST_READABLE_STATE = "0.1.0";

/** A package and its version, as `name@version` records it. */
export interface Provenance {
  readonly name: string;
  readonly version: string;
}

/** How the project being run stands to the state it is asked to act on. */
export type Compatibility =
  | { readonly kind: "same" }
  | { readonly kind: "older-state" }
  | { readonly kind: "newer-state" }
  | { readonly kind: "too-old-state"; readonly oldest: string }
  | { readonly kind: "other-package" }
  | { readonly kind: "unreadable"; readonly record: string };

/** Whether the project being run may act on the state. */
export function isAccepted(c: Compatibility): boolean {
  return c.kind === "same" || c.kind === "older-state";
}

/** `name@version`, the record kept in the serialized provider. */
export function formatProvenance(p: Provenance): string {
  return `${p.name}@${p.version}`;
}

/** Reads a `name@version` record; undefined when it is not one. */
export function parseProvenance(record: string): Provenance | undefined {
  const at = record.lastIndexOf("@");
  if (at <= 0) return undefined;
  const name = record.slice(0, at);
  const version = record.slice(at + 1);
  return parseVersion(version) ? { name, version } : undefined;
}

interface Version {
  readonly core: readonly [number, number, number];
  readonly pre: readonly string[];
}

const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

function parseVersion(v: string): Version | undefined {
  const m = VERSION.exec(v);
  if (!m) return undefined;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split(".") : [] };
}

function compareIdentifiers(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return Math.sign(Number(a) - Number(b));
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semantic version precedence (build metadata ignored); both must parse. */
export function compareVersions(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (!va || !vb) throw new Error(`not a semantic version: ${va ? b : a}`);
  for (let i = 0; i < 3; i++) if (va.core[i] !== vb.core[i]) return Math.sign(va.core[i] - vb.core[i]);
  // A pre-release precedes its release.
  if (va.pre.length === 0 || vb.pre.length === 0) return Math.sign(vb.pre.length - va.pre.length);
  for (let i = 0; i < Math.min(va.pre.length, vb.pre.length); i++) {
    const c = compareIdentifiers(va.pre[i], vb.pre[i]);
    if (c !== 0) return c;
  }
  return Math.sign(va.pre.length - vb.pre.length);
}

/** Decides whether the project `running` may act on state recorded as `writtenBy` (the rule above). */
export function compatibility(writtenBy: string, running: Provenance, oldest: string = OLDEST_READABLE_STATE): Compatibility {
  const state = parseProvenance(writtenBy);
  if (!state) return { kind: "unreadable", record: writtenBy };
  if (state.name !== running.name) return { kind: "other-package" };
  const c = compareVersions(state.version, running.version);
  if (c === 0) return { kind: "same" };
  if (c > 0) return { kind: "newer-state" };
  return compareVersions(state.version, oldest) < 0 ? { kind: "too-old-state", oldest } : { kind: "older-state" };
}

/** What to tell the user when the project being run may not act on the state, naming both sides and the way out. */
export function mismatchMessage(c: Compatibility, writtenBy: string, running: Provenance, projectDir: string): string {
  const run = `this project (${projectDir}) is ${formatProvenance(running)}`;
  const build = "(git checkout, then `npm ci && npm run build`)";
  switch (c.kind) {
    case "same":
    case "older-state":
      return `the state written by ${writtenBy} can be used by ${formatProvenance(running)}`;
    case "newer-state":
      return `this resource's state was written by ${writtenBy}, but ${run}, an older version: it must not act on state a newer version wrote. Run this command from a checkout of ${writtenBy} or later ${build}.`;
    case "too-old-state":
      return `this resource's state was written by ${writtenBy}, but ${run}, which reads state from ${running.name}@${c.oldest} on. Run \`pulumi up\` with a version between the two first, so each host's state is rewritten, then retry with ${running.version}.`;
    case "other-package":
      return `this resource's state was written by ${writtenBy}, but ${run}: run this command from the project that manages the stack.`;
    case "unreadable":
      return `this resource's state records its writer as ${JSON.stringify(c.record)}, which is not name@version; ${run}. Run this command from the project that manages the stack.`;
  }
}

/** The property of a dynamic resource's state that holds its serialized provider. */
const PROVIDER_PROPERTY = "__provider";

/**
 * The writer recorded in the provider text stored with a resource's state (the only quoted
 * `name@version` in it, see bootstrap.ts); undefined when there is no state or its provider was
 * written before versions were recorded.
 */
export function storedWriter(state: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const text = state?.[PROVIDER_PROPERTY];
  if (typeof text !== "string") return undefined;
  const m = /"([^"\s]+@\d+\.\d+\.\d+[^"\s]*)"/.exec(text);
  return m?.[1];
}

/** The package name and version of the project whose package.json sits in `projectDir`. */
export function projectProvenance(projectDir: string): Provenance {
  const file = path.join(projectDir, "package.json");
  const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
  if (typeof pkg.name !== "string" || typeof pkg.version !== "string") throw new Error(`${file} names no package name and version`);
  return { name: pkg.name, version: pkg.version };
}
