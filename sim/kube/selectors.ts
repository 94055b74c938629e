/**
 * Label and field selectors with the grammar and meaning of the real API server:
 * labels `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`; fields `f=v`, `f==v`, `f!=v`
 * on the fields each resource supports. Bad selectors are a 400.
 */
import type { Labels } from "./model";
import { ApiError } from "./status";

type LabelOp = "=" | "!=" | "in" | "notin" | "exists" | "!";

interface LabelRequirement {
  readonly key: string;
  readonly op: LabelOp;
  readonly values: readonly string[];
}

/** A parsed label selector; `matches` tells whether a label set satisfies all requirements. */
export interface LabelSelector {
  matches(labels: Labels): boolean;
}

const KEY = String.raw`(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const RE_EXISTS = new RegExp(`^(${KEY})$`);
const RE_NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const RE_EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const RE_SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\((.*)\\)$`);
const RE_VALUE = new RegExp(`^${VALUE}$`);

/** Splits on commas outside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function parseRequirement(raw: string, whole: string): LabelRequirement {
  const s = raw.trim();
  const fail = (why: string): ApiError => ApiError.badRequest(`unable to parse requested label selector ${JSON.stringify(whole)}: ${why}`);
  let m: RegExpExecArray | null;
  if ((m = RE_SET.exec(s)) !== null) {
    const values = m[3].split(",").map((v) => v.trim());
    if (values.some((v) => !RE_VALUE.test(v))) throw fail(`invalid value in ${JSON.stringify(s)}`);
    if (values.length === 1 && values[0] === "") throw fail(`for 'in', 'notin' operators, values set can't be empty`);
    return { key: m[1], op: m[2] === "in" ? "in" : "notin", values };
  }
  if ((m = RE_EQUALITY.exec(s)) !== null) return { key: m[1], op: m[2] === "!=" ? "!=" : "=", values: [m[3]] };
  if ((m = RE_NOT_EXISTS.exec(s)) !== null) return { key: m[1], op: "!", values: [] };
  if ((m = RE_EXISTS.exec(s)) !== null) return { key: m[1], op: "exists", values: [] };
  throw fail(`cannot parse ${JSON.stringify(s)}`);
}

function requirementMatches(r: LabelRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case "=":
      return has && value === r.values[0];
    case "!=":
      return !has || value !== r.values[0];
    case "in":
      return has && r.values.includes(value);
    case "notin":
      return !has || !r.values.includes(value);
    case "exists":
      return has;
    case "!":
      return !has;
  }
}

/** Parses a labelSelector query parameter; empty or absent selects everything. */
export function parseLabelSelector(selector: string | null): LabelSelector {
  const s = (selector ?? "").trim();
  if (s === "") return { matches: () => true };
  const reqs = splitTopLevel(s).map((part) => parseRequirement(part, s));
  return { matches: (labels) => reqs.every((r) => requirementMatches(r, labels)) };
}

interface FieldRequirement {
  readonly field: string;
  readonly negate: boolean;
  readonly value: string;
}

/** A parsed field selector over a resource's selectable fields. */
export interface FieldSelector {
  matches(fields: Readonly<Record<string, string>>): boolean;
}

/** Splits on unescaped commas and undoes the `\,` `\=` `\\` escapes the grammar allows. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "\\" && i + 1 < s.length) {
      current += ch + s[++i];
    } else if (ch === sep) {
      out.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

function parseFieldTerm(term: string, allowed: ReadonlySet<string>, whole: string): FieldRequirement {
  // Find the first unescaped operator.
  for (let i = 0; i < term.length; i++) {
    if (term[i] === "\\") {
      i++;
      continue;
    }
    const rest = term.slice(i);
    const op = rest.startsWith("!=") ? "!=" : rest.startsWith("==") ? "==" : rest.startsWith("=") ? "=" : undefined;
    if (op === undefined) continue;
    const field = unescape(term.slice(0, i)).trim();
    if (!allowed.has(field)) throw ApiError.badRequest(`field label not supported: ${field}`);
    return { field, negate: op === "!=", value: unescape(term.slice(i + op.length)) };
  }
  throw ApiError.badRequest(`invalid selector: '${whole}'; can't understand '${term}'`);
}

/** Parses a fieldSelector query parameter against the fields the resource supports. */
export function parseFieldSelector(selector: string | null, allowed: ReadonlySet<string>): FieldSelector {
  const s = (selector ?? "").trim();
  if (s === "") return { matches: () => true };
  const reqs = splitEscaped(s, ",").map((t) => parseFieldTerm(t, allowed, s));
  return {
    matches: (fields) => reqs.every((r) => ((fields[r.field] ?? "") === r.value) !== r.negate),
  };
}
