/**
 * The writes the simulated API server accepts: PATCH and DELETE of Nodes, DELETE of Pods and
 * the Eviction subresource. Each records its timeline event through the controllers.
 */
import type { SimTimings } from "../types";
import type { Controllers, Recorder } from "./controllers";
import { SIM_KUBE_DEFAULTS, TAINTS } from "./constants";
import type { ClusterState, Labels, NodeRecord, PodRecord, Taint } from "./model";
import { type Json, type PatchType, applyPatch } from "./patch";
import { evictPod } from "./pdb";
import { createBarePod } from "./pods";
import { renderNode, renderPod } from "./render";
import { ApiError, successStatus } from "./status";

type Obj = Record<string, unknown>;

/** What the write handlers need. */
export interface MutationContext {
  readonly state: ClusterState;
  readonly controllers: Controllers;
  readonly timings: SimTimings;
  readonly record: Recorder;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, what: string, name: string, resource = "nodes"): Labels {
  if (v === undefined || v === null) return {};
  if (!isRecord(v) || Object.values(v).some((x) => typeof x !== "string")) {
    throw ApiError.invalid(resource, name, `${what}: Invalid value: must be a map of strings`);
  }
  return v as Labels;
}

const SYSTEM_TAINTS: ReadonlySet<string> = new Set(Object.values(TAINTS));

function userTaints(v: unknown, node: string): Taint[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw ApiError.invalid("nodes", node, "spec.taints: Invalid value: must be a list");
  return v.flatMap((t): Taint[] => {
    if (!isRecord(t) || typeof t.key !== "string" || !["NoSchedule", "PreferNoSchedule", "NoExecute"].includes(String(t.effect))) {
      throw ApiError.invalid("nodes", node, "spec.taints: Invalid value: each taint needs a key and a valid effect");
    }
    if (SYSTEM_TAINTS.has(t.key)) return [];
    return [{ key: t.key, effect: t.effect as Taint["effect"], ...(typeof t.value === "string" ? { value: t.value } : {}) }];
  });
}

/** PATCH /api/v1/nodes/{name}: labels, annotations, spec.unschedulable and spec.taints. */
export function patchNode(ctx: MutationContext, n: NodeRecord, type: PatchType, patch: unknown): Obj {
  const before = renderNode(n);
  const after = applyPatch(before as Json, type, patch as Json);
  if (!isRecord(after)) throw ApiError.badRequest("the patch produced something that is not an object");
  const meta = isRecord(after.metadata) ? after.metadata : {};
  const spec = isRecord(after.spec) ? after.spec : {};
  if (meta.name !== n.meta.name) throw ApiError.badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${n.meta.name})`);
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== n.meta.resourceVersion) {
    throw ApiError.conflict("nodes", n.meta.name, "the object has been modified; please apply your changes to the latest version and try again");
  }
  if (spec.unschedulable !== undefined && typeof spec.unschedulable !== "boolean") {
    throw ApiError.invalid("nodes", n.meta.name, "spec.unschedulable: Invalid value: must be a boolean");
  }
  const labels = stringMap(meta.labels, "metadata.labels", n.meta.name);
  const annotations = stringMap(meta.annotations, "metadata.annotations", n.meta.name);
  const taints = userTaints(spec.taints, n.meta.name);
  n.meta.labels = { ...labels };
  n.meta.annotations = { ...annotations };
  n.userTaints = taints;
  ctx.controllers.setUnschedulable(n, spec.unschedulable === true);
  // A no-op patch still rewrites the object in the real server only if it changed.
  if (JSON.stringify(renderNode(n)) !== JSON.stringify(before)) ctx.state.touch(n.meta);
  return renderNode(n);
}

/**
 * POST /api/v1/namespaces/{ns}/pods: a pod without a controller, as `kubectl run` makes one.
 * The simulator has no scheduler for such pods, so it must name its node (spec.nodeName);
 * its containers and emptyDir volumes are kept, other volume kinds are dropped.
 */
export function createPod(ctx: MutationContext, namespace: string, body: unknown): Obj {
  if (!isRecord(body)) throw ApiError.badRequest("the body of the request was in an unknown format");
  const meta = isRecord(body.metadata) ? body.metadata : {};
  const spec = isRecord(body.spec) ? body.spec : {};
  const name = meta.name;
  if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
    throw ApiError.invalid("pods", String(name ?? ""), "metadata.name: Required value: a lowercase RFC 1123 subdomain");
  }
  if (meta.namespace !== undefined && meta.namespace !== namespace) {
    throw ApiError.badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  if (!ctx.state.namespaces.some((n) => n.name === namespace)) throw ApiError.notFound("namespaces", namespace);
  if (ctx.state.pods.has(`${namespace}/${name}`)) throw ApiError.alreadyExists("pods", name);
  if (meta.ownerReferences !== undefined) {
    throw ApiError.invalid("pods", name, "metadata.ownerReferences: this simulated API server creates only pods without owners");
  }
  const nodeName = spec.nodeName;
  const node = typeof nodeName === "string" ? ctx.state.nodes.get(nodeName) : undefined;
  if (node === undefined) {
    throw ApiError.invalid("pods", name, "spec.nodeName: Required value: the simulated API server has no scheduler for bare pods; bind it to an existing node");
  }
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0 || !containers.every((c) => isRecord(c) && typeof c.name === "string" && typeof c.image === "string")) {
    throw ApiError.invalid("pods", name, "spec.containers: Required value: each container needs a name and an image");
  }
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  const pod = createBarePod(ctx.state, namespace, name, node, {
    labels: stringMap(meta.labels, "metadata.labels", name, "pods"),
    containers: containers.map((c) => ({ name: String((c as Obj).name), image: String((c as Obj).image) })),
    emptyDirs: volumes.filter((v) => isRecord(v) && isRecord(v.emptyDir) && typeof v.name === "string").map((v) => String((v as Obj).name)),
    hostNetwork: spec.hostNetwork === true,
    daemon: false,
  });
  ctx.controllers.refreshStatuses();
  return renderPod(pod, node);
}

/** DELETE /api/v1/nodes/{name}. */
export function deleteNode(ctx: MutationContext, n: NodeRecord): Obj {
  ctx.controllers.deleteNode(n);
  return successStatus(200, { name: n.meta.name, kind: "nodes", uid: n.meta.uid });
}

interface DeleteOptions {
  readonly gracePeriodSeconds?: unknown;
  readonly preconditions?: { readonly uid?: unknown };
}

/** DELETE /api/v1/namespaces/{ns}/pods/{name}; answers with the pod as it is after the call. */
export function deletePod(ctx: MutationContext, p: PodRecord, body: unknown, query: URLSearchParams): Obj {
  const opts: DeleteOptions = isRecord(body) ? body : {};
  const uid = isRecord(opts.preconditions) ? opts.preconditions.uid : undefined;
  if (typeof uid === "string" && uid !== p.meta.uid) {
    throw ApiError.conflict("pods", p.meta.name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${p.meta.uid}`);
  }
  const fromQuery = query.get("gracePeriodSeconds");
  const raw = typeof opts.gracePeriodSeconds === "number" ? opts.gracePeriodSeconds : fromQuery === null ? undefined : Number(fromQuery);
  const grace = raw !== undefined && Number.isFinite(raw) && raw >= 0 ? raw : SIM_KUBE_DEFAULTS.terminationGracePeriodSeconds;
  if (isDryRun(query)) return renderPod(p, ctx.state.nodes.get(p.nodeName));
  ctx.controllers.deletePod(p, grace);
  return renderPod(p, ctx.state.nodes.get(p.nodeName));
}

function isDryRun(query: URLSearchParams): boolean {
  return query.getAll("dryRun").includes("All");
}

/** POST /api/v1/namespaces/{ns}/pods/{name}/eviction. */
export function evict(ctx: MutationContext, namespace: string, name: string, body: unknown, query: URLSearchParams): Obj {
  const pod = ctx.state.pods.get(`${namespace}/${name}`);
  try {
    evictPod(ctx.state, namespace, name, body, ctx.timings.podTerminationMs, isDryRun(query));
  } catch (e) {
    if (e instanceof ApiError && e.code === 429 && pod !== undefined) {
      ctx.record(pod.nodeName, "eviction", { namespace, pod: name, result: "blocked" });
    }
    throw e;
  }
  if (pod !== undefined && !isDryRun(query)) {
    ctx.record(pod.nodeName, "eviction", { namespace, pod: name, result: "evicted" });
    ctx.controllers.refreshStatuses();
  }
  return successStatus(201);
}
