/** Reading an evaluated NixOS configuration (JSON) by option path. */
import type { JsonObject, JsonValue } from "./evaluate";

/** Whether a value is an attribute set (a JSON object, not a list). */
export function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && v !== undefined && typeof v === "object" && !Array.isArray(v);
}

/** The value at a dotted option path ("services.openssh.enable"); undefined when any part is missing. */
export function at(v: JsonValue | undefined, dotted: string): JsonValue | undefined {
  for (const part of dotted.split(".")) {
    if (!isObject(v)) return undefined;
    v = v[part];
  }
  return v;
}
