/**
 * Maps an authenticated request to discovery, a read of a collection, or a write, the way the
 * real API server lays out its paths:
 *   /api/v1/{resource}[/{name}[/{sub}]]
 *   /api/v1/namespaces/{ns}/{resource}[/{name}[/{sub}]]
 *   /apis/{group}/v1/... likewise
 */
import { type Collection, findCollection, findItem, renderItemsTable, renderList } from "./collections";
import { type GroupName, apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from "./discovery";
import { createLease, deleteLease, replaceLease } from "./leases";
import { type MutationContext, createPod, deleteNode, deletePod, evict, patchNode } from "./mutations";
import { isPatchType, PATCH_TYPES } from "./patch";
import { parseFieldSelector, parseLabelSelector } from "./selectors";
import { ApiError } from "./status";
import type { IncludeObject } from "./table";

/** A request after authentication and body parsing. */
export interface KubeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly accept: string;
  /** Media type without parameters, lower case. */
  readonly contentType: string;
  readonly body: unknown;
}

/** What the server writes back. */
export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
  /** Plain text responses (health endpoints). */
  readonly text?: true;
}

/** Everything a handler may touch. */
export interface RouteContext extends MutationContext {
  /** host:port as /api reports it. */
  readonly serverAddress: string;
}

interface ResourcePath {
  readonly group: GroupName;
  readonly collection: Collection;
  readonly namespace?: string;
  readonly name?: string;
  readonly sub?: string;
}

const ok = (body: unknown, status = 200): KubeResponse => ({ status, body });

function discovery(ctx: RouteContext, parts: readonly string[]): KubeResponse | undefined {
  const p = parts.join("/");
  if (p === "version") return ok(versionInfo());
  if (p === "healthz" || p === "livez" || p === "readyz") return { status: 200, body: "ok", text: true };
  if (p === "api") return ok(apiVersions(ctx.serverAddress));
  if (p === "api/v1") return ok(apiResourceList(""));
  if (p === "apis") return ok(apiGroupList());
  if (parts[0] === "apis" && parts.length === 2) return ok(apiGroup(parts[1]) ?? notFound());
  if (parts[0] === "apis" && parts.length === 3 && parts[2] === "v1") {
    const list = apiResourceList(parts[1] as GroupName);
    if (list !== undefined) return ok(list);
  }
  return undefined;
}

function notFound(): never {
  throw ApiError.noRoute();
}

function parseResourcePath(parts: readonly string[]): ResourcePath | undefined {
  let group: GroupName;
  let rest: readonly string[];
  if (parts[0] === "api" && parts[1] === "v1") {
    group = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && (parts[1] === "apps" || parts[1] === "policy" || parts[1] === "coordination.k8s.io") && parts[2] === "v1") {
    group = parts[1];
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  const collection = findCollection(group, rest[0]);
  if (collection === undefined || (namespace !== undefined && !collection.namespaced)) return undefined;
  // A namespaced object is only addressable inside its namespace.
  if (collection.namespaced && namespace === undefined && rest.length > 1) return undefined;
  return { group, collection, ...(namespace === undefined ? {} : { namespace }), ...(rest[1] === undefined ? {} : { name: rest[1] }), ...(rest[2] === undefined ? {} : { sub: rest[2] }) };
}

function includeObject(query: URLSearchParams): IncludeObject {
  const v = query.get("includeObject");
  return v === "None" || v === "Object" ? v : "Metadata";
}

function wantsTable(accept: string): boolean {
  return accept.split(",").some((part) => /;\s*as=Table/.test(part));
}

function list(ctx: RouteContext, req: KubeRequest, r: ResourcePath): KubeResponse {
  const watch = req.query.get("watch");
  if (watch === "true" || watch === "1") {
    throw ApiError.methodNotAllowed("watch is not supported by this simulated API server; poll with list instead");
  }
  const labels = parseLabelSelector(req.query.get("labelSelector"));
  const fields = parseFieldSelector(req.query.get("fieldSelector"), r.collection.selectableFields);
  const items = r.collection.items(ctx.state, r.namespace).filter((i) => labels.matches(i.labels) && fields.matches(i.fields));
  const rv = ctx.state.listVersion();
  if (wantsTable(req.accept)) return ok(renderItemsTable(r.collection, items, rv, includeObject(req.query), ctx.state.now()));
  return ok(renderList(r.collection, items, rv));
}

function get(ctx: RouteContext, req: KubeRequest, r: ResourcePath, name: string): KubeResponse {
  const item = findItem(ctx.state, r.collection, r.namespace, name);
  if (item === undefined) throw ApiError.notFound(r.collection.resource, name, r.group);
  if (wantsTable(req.accept) && r.sub === undefined) {
    return ok(renderItemsTable(r.collection, [item], ctx.state.listVersion(), includeObject(req.query), ctx.state.now()));
  }
  return ok(item.render());
}

function write(ctx: RouteContext, req: KubeRequest, r: ResourcePath, name: string): KubeResponse {
  const resource = r.collection.resource;
  const key = `${req.method} ${resource}${r.sub === undefined ? "" : `/${r.sub}`}`;
  switch (key) {
    case "PATCH nodes": {
      const node = ctx.state.nodes.get(name) ?? notFoundItem("nodes", name);
      if (!isPatchType(req.contentType)) throw ApiError.unsupportedMediaType(req.contentType, PATCH_TYPES);
      return ok(patchNode(ctx, node, req.contentType, req.body));
    }
    case "DELETE nodes":
      return ok(deleteNode(ctx, ctx.state.nodes.get(name) ?? notFoundItem("nodes", name)));
    case "DELETE pods": {
      const pod = ctx.state.pods.get(`${r.namespace ?? ""}/${name}`) ?? notFoundItem("pods", name);
      return ok(deletePod(ctx, pod, req.body, req.query));
    }
    case "PUT leases": {
      const r2 = replaceLease(ctx.state, r.namespace ?? notFound(), name, req.body);
      return ok(r2.body, r2.status);
    }
    case "DELETE leases":
      return ok(deleteLease(ctx.state, r.namespace ?? notFound(), name));
    case "POST pods/eviction":
      if (r.namespace === undefined) notFound();
      return ok(evict(ctx, r.namespace, name, req.body, req.query), 201);
    default:
      throw ApiError.methodNotAllowed();
  }
}

function notFoundItem(resource: string, name: string): never {
  throw ApiError.notFound(resource, name);
}

/** Answers one request; throws ApiError for every failure. */
export function route(ctx: RouteContext, req: KubeRequest): KubeResponse {
  const parts = req.path.split("/").filter((s) => s !== "");
  if (req.method === "GET") {
    const d = discovery(ctx, parts);
    if (d !== undefined) return d;
  }
  const r = parseResourcePath(parts);
  if (r === undefined) notFound();
  const allowedSubs = r.collection.resource === "pods" ? ["eviction", "status"] : r.collection.resource === "nodes" ? ["status"] : [];
  if (r.sub !== undefined && !allowedSubs.includes(r.sub)) notFound();
  if (r.name === undefined) {
    if (req.method === "POST" && r.collection.resource === "pods" && r.namespace !== undefined) {
      return ok(createPod(ctx, r.namespace, req.body), 201);
    }
    if (req.method === "POST" && r.collection.resource === "leases" && r.namespace !== undefined) return ok(createLease(ctx.state, r.namespace, req.body), 201);
    if (req.method !== "GET") throw ApiError.methodNotAllowed();
    return list(ctx, req, r);
  }
  if (req.method === "GET" && r.sub !== "eviction") return get(ctx, req, r, r.name);
  return write(ctx, req, r, r.name);
}
