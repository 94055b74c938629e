/**
 * Free-form NixOS option values in the inventory (`nix.settings`): validated into plain Nix
 * data at their exact paths, and merged fleet-wide → per host.
 */
import { z } from "zod";
import { numberProblem, textProblem, type NixAttrs, type NixValue } from "../render/nixValue";
import { describeValue } from "./zodParts";

type Report = (path: readonly (string | number)[], message: string) => void;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function toData(v: unknown, path: (string | number)[], report: Report): NixValue {
  if (v === null || typeof v === "boolean") return v;
  if (typeof v === "string") {
    const p = textProblem(v);
    if (p !== undefined) report(path, `the text ${p}; write the character itself or its whole escape`);
    return v;
  }
  if (typeof v === "number" || typeof v === "bigint") {
    const p = numberProblem(v);
    if (p !== undefined) report(path, `${p}; ${typeof v === "bigint" ? "give it as a string if the option takes one" : "write a finite number of ordinary size (or 0), or a string if the option takes one"}`);
    return v;
  }
  if (Array.isArray(v)) return v.map((item, i) => toData(item, [...path, i], report));
  if (isPlainObject(v)) return toAttrs(v, path, report);
  report(path, `${describeValue(v)} is not a string, number, true/false, null, list or map`);
  return null;
}

function toAttrs(v: Record<string, unknown>, path: (string | number)[], report: Report): NixAttrs {
  const out: Record<string, NixValue> = {};
  for (const [k, item] of Object.entries(v)) {
    const p = textProblem(k);
    if (p !== undefined) report([...path, k], `the key ${p}; write the character itself or its whole escape`);
    // defineProperty: a key "__proto__" must stay an ordinary attribute.
    Object.defineProperty(out, k, { value: toData(item, [...path, k], report), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * `nix.settings`: a map of NixOS option values. Nested maps are attribute sets; a key is one
 * attribute even when it contains dots (`boot.kernel.sysctl: {"net.ipv4.ip_forward": 1}`), so a
 * dotted key at the top, where no NixOS option has a dot, is reported with the nested spelling.
 */
export function nixSettingsSchema() {
  return z
    .unknown()
    .optional()
    .transform((v, ctx): NixAttrs => {
      const report: Report = (path, message) => ctx.addIssue({ code: "custom", path: [...path], message });
      if (v === undefined) return {};
      if (!isPlainObject(v)) {
        report([], `expected a map of NixOS option values, got ${describeValue(v)}`);
        return {};
      }
      for (const k of Object.keys(v)) {
        if (k.includes(".")) {
          const nested = k.split(".").reduceRight((acc, part) => `{${part}: ${acc}}`, "...");
          report([k], `a key with dots is one attribute named "${k}", not an option path; write nested maps instead: ${nested}`);
        }
      }
      return toAttrs(v, [], report);
    });
}

/**
 * Fleet-wide settings with the host's on top: attribute sets merge key by key, anything else
 * (strings, numbers, lists) is replaced by the host's value.
 */
export function mergeSettings(base: NixAttrs, over: NixAttrs): NixAttrs {
  const out: Record<string, NixValue> = {};
  const put = (k: string, v: NixValue) => Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const [k, v] of Object.entries(base)) put(k, v);
  for (const [k, v] of Object.entries(over)) {
    const b = Object.prototype.hasOwnProperty.call(base, k) ? base[k] : undefined;
    put(k, isAttrs(b) && isAttrs(v) ? mergeSettings(b, v) : v);
  }
  return out;
}

function isAttrs(v: NixValue | undefined): v is NixAttrs {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
