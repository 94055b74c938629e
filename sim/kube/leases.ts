/**
 * coordination.k8s.io/v1 Leases, stored and validated the way the real API server does for what
 * leader election and fleet-wide locks use: create (POST, 409 AlreadyExists), update (PUT with
 * optimistic concurrency: a stale metadata.resourceVersion is a 409 Conflict, a missing one is
 * refused because Leases do not allow unconditional updates, and a PUT of a Lease that does not
 * exist creates it), get, list and delete. The server keeps spec as written; it never expires a
 * Lease itself: holders and takers judge renewTime + leaseDurationSeconds.
 */
import type { ClusterState, ObjectMeta } from "./model";
import { renderMeta } from "./render";
import { ApiError, successStatus } from "./status";

type Obj = Record<string, unknown>;

/** spec of a Lease, as written by its holder. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseRecord {
  readonly meta: ObjectMeta;
  spec: LeaseSpec;
}

const RESOURCE = "leases.coordination.k8s.io";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Key of a Lease in ClusterState.leases. */
export function leaseKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function renderLease(l: LeaseRecord): Obj {
  return { kind: "Lease", apiVersion: "coordination.k8s.io/v1", metadata: renderMeta(l.meta), spec: { ...l.spec } };
}

/** MicroTime: RFC 3339 with microseconds. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function parseSpec(name: string, body: Obj): LeaseSpec {
  const raw = body.spec === undefined || body.spec === null ? {} : body.spec;
  if (!isRecord(raw)) throw ApiError.invalid(RESOURCE, name, "spec: Invalid value: must be an object");
  const spec: LeaseSpec = {};
  const invalid = (field: string, why: string): never => {
    throw ApiError.invalid(RESOURCE, name, `spec.${field}: Invalid value: ${JSON.stringify(raw[field])}: ${why}`);
  };
  if (raw.holderIdentity !== undefined && raw.holderIdentity !== null) {
    if (typeof raw.holderIdentity !== "string") invalid("holderIdentity", "must be a string");
    spec.holderIdentity = raw.holderIdentity as string;
  }
  for (const f of ["leaseDurationSeconds", "leaseTransitions"] as const) {
    const v = raw[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isInteger(v)) invalid(f, "must be an integer");
    if (f === "leaseDurationSeconds" && (v as number) <= 0) invalid(f, "must be greater than 0");
    if (f === "leaseTransitions" && (v as number) < 0) invalid(f, "must be greater than or equal to 0");
    spec[f] = v as number;
  }
  for (const f of ["acquireTime", "renewTime"] as const) {
    const v = raw[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || !MICRO_TIME.test(v)) invalid(f, "must be an RFC 3339 time");
    spec[f] = v as string;
  }
  return spec;
}

function bodyName(body: Obj): string | undefined {
  const meta = isRecord(body.metadata) ? body.metadata : {};
  return typeof meta.name === "string" ? meta.name : undefined;
}

function requireNamespace(state: ClusterState, namespace: string): void {
  if (!state.namespaces.some((n) => n.name === namespace)) throw ApiError.notFound("namespaces", namespace);
}

function create(state: ClusterState, namespace: string, name: string, body: Obj): Obj {
  const meta = isRecord(body.metadata) ? body.metadata : {};
  const labels = isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {};
  const annotations = isRecord(meta.annotations) ? (meta.annotations as Record<string, string>) : {};
  const record: LeaseRecord = { meta: state.newMeta(name, namespace, labels, annotations), spec: parseSpec(name, body) };
  state.leases.set(leaseKey(namespace, name), record);
  return renderLease(record);
}

/** POST /apis/coordination.k8s.io/v1/namespaces/{ns}/leases. */
export function createLease(state: ClusterState, namespace: string, body: unknown): Obj {
  if (!isRecord(body)) throw ApiError.badRequest("the body of the request is not a Lease object");
  const name = bodyName(body);
  if (name === undefined || name === "") throw ApiError.invalid(RESOURCE, "", "metadata.name: Required value: name or generateName is required");
  requireNamespace(state, namespace);
  if (state.leases.has(leaseKey(namespace, name))) {
    throw new ApiError(409, "AlreadyExists", `${RESOURCE} "${name}" already exists`, { name, group: "coordination.k8s.io", kind: "leases" });
  }
  return create(state, namespace, name, body);
}

/** PUT /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}; answers the status code too. */
export function replaceLease(state: ClusterState, namespace: string, name: string, body: unknown): { status: number; body: Obj } {
  if (!isRecord(body)) throw ApiError.badRequest("the body of the request is not a Lease object");
  const given = bodyName(body);
  if (given !== name) throw ApiError.badRequest(`the name of the object (${given ?? ""}) does not match the name on the URL (${name})`);
  const meta = isRecord(body.metadata) ? body.metadata : {};
  const rv = typeof meta.resourceVersion === "string" ? meta.resourceVersion : "";
  const current = state.leases.get(leaseKey(namespace, name));
  const conflict = () => ApiError.conflict(RESOURCE, name, "the object has been modified; please apply your changes to the latest version and try again");
  if (current === undefined) {
    // Create on update: only without a resourceVersion, which would name a version that does not exist.
    if (rv !== "") throw conflict();
    requireNamespace(state, namespace);
    return { status: 201, body: create(state, namespace, name, body) };
  }
  if (rv === "") throw ApiError.invalid(RESOURCE, name, "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
  if (rv !== current.meta.resourceVersion) throw conflict();
  const spec = parseSpec(name, body);
  if (JSON.stringify(spec) !== JSON.stringify(current.spec)) {
    current.spec = spec;
    state.touch(current.meta);
  }
  return { status: 200, body: renderLease(current) };
}

/** DELETE /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}. */
export function deleteLease(state: ClusterState, namespace: string, name: string): Obj {
  const current = state.leases.get(leaseKey(namespace, name));
  if (current === undefined) throw ApiError.notFound("leases", name, "coordination.k8s.io");
  state.leases.delete(leaseKey(namespace, name));
  return successStatus(200, { name, group: "coordination.k8s.io", kind: "leases", uid: current.meta.uid });
}
