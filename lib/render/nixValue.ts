/**
 * The one serializer from JSON-like data to Nix expression text. Everything the project writes
 * into a .nix file as data goes through here, so escaping is decided in one place.
 *
 * Output is deterministic: attribute names sorted, one element or attribute per line, two
 * spaces of indentation, so a change to one value changes one line of the file.
 */

/**
 * Data Nix can represent: strings, numbers, booleans, null, lists and attribute sets. A bigint
 * is an integer beyond JavaScript's safe range, kept exact (Nix integers are 64-bit signed).
 */
export type NixValue = string | number | bigint | boolean | null | readonly NixValue[] | NixAttrs;

/** An attribute set; names are taken literally (a name "a.b" is one attribute, not a path). */
export interface NixAttrs {
  readonly [name: string]: NixValue;
}

/** A value that has no faithful Nix rendering; `path` names where it sits in the input. */
export class NixValueError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "NixValueError";
  }
}

const KEYWORDS = new Set(["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"]);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_'-]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Nix parses float literals with strtod and rejects results that underflow to subnormals. */
const SMALLEST_NORMAL = 2.2250738585072014e-308;

/** Nix integers are 64-bit signed; a literal outside fails to parse ("invalid integer"). */
export const NIX_INT_MIN = -(2n ** 63n);
export const NIX_INT_MAX = 2n ** 63n - 1n;

/**
 * Why Nix cannot hold the text `s` exactly, or undefined. Nix strings are C strings (no NUL);
 * an unpaired UTF-16 surrogate has no UTF-8 form and would be written as U+FFFD.
 */
export function textProblem(s: string): string | undefined {
  if (s.includes("\0")) return "contains a NUL character, which Nix strings cannot hold";
  if (LONE_SURROGATE.test(s)) return "contains an unpaired UTF-16 surrogate (half of an escaped character such as \\ud83d without its pair), which is not valid Unicode text and has no UTF-8 form";
  return undefined;
}

/**
 * Why Nix cannot hold the number `n` exactly, or undefined: NaN and infinities have no Nix
 * literal, Nix 2.8 refuses float literals that underflow to subnormals ("invalid float"), and
 * integers must fit in 64 bits.
 */
export function numberProblem(n: number | bigint): string | undefined {
  if (typeof n === "bigint") {
    return n < NIX_INT_MIN || n > NIX_INT_MAX ? `${n} is outside the range of Nix integers (64-bit signed: ${NIX_INT_MIN} to ${NIX_INT_MAX})` : undefined;
  }
  if (!Number.isFinite(n)) return `${n} has no Nix equivalent (only finite numbers do; .inf and .nan are not Nix values)`;
  if (n !== 0 && Math.abs(n) < SMALLEST_NORMAL) return `${n} is too close to zero for a Nix float literal (Nix reads nothing below ${SMALLEST_NORMAL} but 0)`;
  return undefined;
}

function checkText(s: string, path: string, what: string): void {
  const p = textProblem(s);
  if (p !== undefined) throw new NixValueError(path, `${what} ${p}`);
}

/**
 * A Nix double-quoted string literal for `s`. `"`, `\` and the `${` of an interpolation are
 * escaped; a `$` not followed by `{` stays as it is (Nix reads `$$` and a trailing `$` literally).
 * Newlines, tabs and carriage returns are written as \n, \t, \r: Nix would turn a raw CR into LF.
 */
export function nixString(s: string, path = "value"): string {
  checkText(s, path, "the string");
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "\\") out += `\\${c}`;
    else if (c === "$" && s[i + 1] === "{") out += "\\$";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else out += c;
  }
  return `${out}"`;
}

/** An attribute name: bare when it is a Nix identifier and no keyword, else a quoted string. */
export function nixAttrName(name: string, path = "value"): string {
  checkText(name, path, "the attribute name");
  return IDENTIFIER.test(name) && !KEYWORDS.has(name) ? name : nixString(name, path);
}

/**
 * A number literal. Safe integers and bigints are Nix integers; every other number a float
 * with a `.`, in the shortest digits that read back as the same double.
 */
export function nixNumber(n: number | bigint, path = "value"): string {
  const p = numberProblem(n);
  if (p !== undefined) throw new NixValueError(path, p);
  // The literal -2^63 does not parse (2^63 is out of range before the minus applies).
  if (typeof n === "bigint") return n === NIX_INT_MIN ? `(-${NIX_INT_MAX} - 1)` : String(n);
  if (Number.isSafeInteger(n)) return String(n === 0 ? 0 : n);
  const abs = Math.abs(n);
  // JavaScript prints the shortest digits that read back to the same double; Nix wants a dot.
  const [mantissa, exponent] = String(abs).split("e");
  const withDot = mantissa.includes(".") ? mantissa : `${mantissa}.`;
  const literal = exponent === undefined ? (withDot.endsWith(".") ? `${withDot}0` : withDot) : `${withDot}e${exponent}`;
  return n < 0 ? `-${literal}` : literal;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function render(v: unknown, indent: string, path: string, inList: boolean, seen: Set<object>): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return nixString(v, path);
    case "boolean":
      return v ? "true" : "false";
    case "number":
    case "bigint": {
      const lit = nixNumber(v, path);
      // In a list `-1` is a syntax error: list elements cannot start with an operator.
      return inList && lit.startsWith("-") ? `(${lit})` : lit;
    }
    case "object":
      return renderContainer(v, indent, path, seen);
    default:
      throw new NixValueError(path, `a value of type ${typeof v} has no Nix equivalent`);
  }
}

function renderContainer(v: object, indent: string, path: string, seen: Set<object>): string {
  if (seen.has(v)) throw new NixValueError(path, "the value contains itself (a cycle)");
  const inner = `${indent}  `;
  seen.add(v);
  try {
    if (Array.isArray(v)) {
      if (v.length === 0) return "[ ]";
      const items: string[] = [];
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw new NixValueError(childPath(path, i), "the list has a hole here");
        items.push(`${inner}${render(v[i], inner, childPath(path, i), true, seen)}`);
      }
      return `[\n${items.join("\n")}\n${indent}]`;
    }
    if (!isPlainObject(v)) {
      const kind = v.constructor?.name ?? "object";
      throw new NixValueError(path, `a ${kind} has no Nix equivalent; convert it to a string, number, list or plain object`);
    }
    const rec = v as Record<string, unknown>;
    const names = Object.keys(rec).sort();
    if (names.length === 0) return "{ }";
    const lines = names.map((name) => {
      const p = childPath(path, name);
      if (rec[name] === undefined) throw new NixValueError(p, "undefined has no Nix equivalent; leave the attribute out or use null");
      return `${inner}${nixAttrName(name, p)} = ${render(rec[name], inner, p, false, seen)};`;
    });
    return `{\n${lines.join("\n")}\n${indent}}`;
  } finally {
    seen.delete(v);
  }
}

/**
 * Nix expression text for `value`. Throws NixValueError naming the path (starting at `root`)
 * of anything without a Nix equivalent: undefined, functions, symbols, NaN, Infinity,
 * subnormal floats, integers beyond 64 bits, class instances, cycles, NUL characters and
 * unpaired surrogates.
 */
export function toNix(value: unknown, options: { readonly root?: string; readonly indent?: string } = {}): string {
  return render(value, options.indent ?? "", options.root ?? "value", false, new Set());
}
