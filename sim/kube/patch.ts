/**
 * The three PATCH formats a client may send: JSON merge patch (RFC 7386), strategic merge patch
 * (merge semantics; the `$`-directives kubectl adds are honoured where they matter for the
 * fields we keep, otherwise dropped), and JSON patch (RFC 6902).
 */
import { ApiError } from "./status";

/** A parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The PATCH content types accepted. */
export const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

/** Type guard for a request's Content-Type. */
export function isPatchType(s: string): s is PatchType {
  return (PATCH_TYPES as readonly string[]).includes(s);
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function mergePatch(target: Json | undefined, patch: Json, strategic: boolean): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  if (strategic && patch["$patch"] === "delete") return null;
  for (const [key, value] of Object.entries(patch)) {
    if (strategic && key.startsWith("$")) continue;
    const merged = value === null ? null : mergePatch(out[key], value, strategic);
    if (merged === null) delete out[key];
    else out[key] = merged;
  }
  return out;
}

function decodePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw ApiError.badRequest(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Returns the container holding the last token and that token. */
function locate(doc: Json, tokens: string[], path: string): { parent: JsonObject | Json[]; key: string } {
  let node: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(t)];
    else if (isObject(node)) node = node[t];
    else node = null;
    if (node === undefined || node === null || typeof node !== "object") {
      throw ApiError.invalid("patch", path, `doc is missing path: ${path}`);
    }
  }
  if (typeof node !== "object" || node === null) throw ApiError.invalid("patch", path, `doc is missing path: ${path}`);
  return { parent: node, key: tokens[tokens.length - 1] };
}

function getAt(doc: Json, path: string): Json {
  const tokens = decodePointer(path);
  if (tokens.length === 0) return doc;
  const { parent, key } = locate(doc, tokens, path);
  const v = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  if (v === undefined) throw ApiError.invalid("patch", path, `doc is missing path: ${path}`);
  return v;
}

function removeAt(doc: Json, path: string): void {
  const { parent, key } = locate(doc, decodePointer(path), path);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (key in parent) delete parent[key];
  else throw ApiError.invalid("patch", path, `unable to remove nonexistent key: ${key}`);
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = decodePointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = locate(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = key === "-" ? parent.length : Number(key);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !(key in parent)) throw ApiError.invalid("patch", path, `replace operation does not apply: doc is missing key: ${path}`);
    parent[key] = value;
  }
  return doc;
}

function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw ApiError.badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  let out: Json = JSON.parse(JSON.stringify(doc)) as Json;
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== "string" || typeof op.path !== "string") {
      throw ApiError.badRequest("invalid JSON patch operation");
    }
    const path = op.path;
    const value = op.value === undefined ? null : op.value;
    switch (op.op) {
      case "add":
        out = addAt(out, path, value, false);
        break;
      case "replace":
        out = addAt(out, path, value, true);
        break;
      case "remove":
        removeAt(out, path);
        break;
      case "test":
        if (JSON.stringify(getAt(out, path)) !== JSON.stringify(value)) {
          throw ApiError.invalid("patch", path, `testing value ${path} failed: test failed`);
        }
        break;
      case "copy":
      case "move": {
        if (typeof op.from !== "string") throw ApiError.badRequest(`${op.op} operation needs "from"`);
        const moved = JSON.parse(JSON.stringify(getAt(out, op.from))) as Json;
        if (op.op === "move") removeAt(out, op.from);
        out = addAt(out, path, moved, false);
        break;
      }
      default:
        throw ApiError.badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return out;
}

/** Applies `patch` (already parsed JSON) of the given type to a copy of `doc`. */
export function applyPatch(doc: Json, type: PatchType, patch: Json): Json {
  switch (type) {
    case "application/json-patch+json":
      return jsonPatch(doc, patch);
    case "application/merge-patch+json":
      return mergePatch(JSON.parse(JSON.stringify(doc)) as Json, patch, false);
    case "application/strategic-merge-patch+json":
      return mergePatch(JSON.parse(JSON.stringify(doc)) as Json, patch, true);
  }
}
