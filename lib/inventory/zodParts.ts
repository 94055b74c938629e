/**
 * Building blocks of the inventory schema: objects that reject unknown keys with a "did you
 * mean", scalars that accept what `pulumi config set --path` stores, and readable messages for
 * zod's own issues.
 */
import { z } from "zod";
import { textProblem } from "../render/nixValue";
import { didYouMean } from "./suggest";

const STORE_TOKEN =
  "secrets never sit in the inventory: store the token with `pulumi config set --secret --path 'fleet:secrets.k3sToken' <token>` and refer to it with k3s.tokenSecret: k3sToken";
const STORE_KEY = "the SSH private key is secret stack config: `pulumi config set --secret fleet:sshPrivateKey < ~/.ssh/id_ed25519`";

/** Keys people write by habit (or from nk3's inventory), by normalized name, and where they go. */
const KEY_HINTS: Readonly<Record<string, string>> = {
  token: STORE_TOKEN,
  jointoken: STORE_TOKEN,
  password: "secrets never sit in the inventory: store it in the secret stack config map fleet:secrets and refer to it by name",
  privatekey: STORE_KEY,
  sshprivatekey: STORE_KEY,
  nodes: 'did you mean "hosts"? Hosts are a list: hosts: [{name: srv1, address: 10.0.0.1, ...}]',
  watchnamespaces: "did you mean kubernetes.watchedNamespaces?",
  joinaddress: "did you mean k3s.serverAddr (https://<address>:6443)?",
  nixchannel: "did you mean nix.channel (a channel name such as nixos-24.11)?",
};

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const hint = KEY_HINTS[key.toLowerCase().replace(/[_-]/g, "")];
  if (hint !== undefined) return `unknown key; ${hint}`;
  const guess = didYouMean(key, known);
  return guess !== undefined
    ? `unknown key; did you mean ${JSON.stringify(guess)}?`
    : `unknown key; expected one of: ${known.join(", ")}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * An object schema that reports every unknown key at its own path with a suggestion. (zod's
 * strictObject reports them all in one issue at the object's path, without suggestions.)
 */
export function strict<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z
    .looseObject(shape)
    .superRefine(
      (value, ctx) => {
        if (!isPlainObject(value)) return;
        for (const key of Object.keys(value)) {
          if (!known.includes(key)) ctx.addIssue({ code: "custom", path: [key], message: unknownKeyMessage(key, known) });
        }
      },
      // Also when a known key failed: a typo usually comes with a "missing" error for the real key.
      { when: () => true },
    )
    .transform((v): z.output<z.ZodObject<T>> => v);
}

/**
 * A string. `pulumi config set --path` stores "true"/"false" as booleans and integers as
 * numbers, and YAML does the same for unquoted `true`/`42`; both are taken back as text (an
 * integer too long for a double arrives as a bigint and keeps its digits). Fractions are not:
 * `24.10` would silently read as "24.1". Every string may reach a Nix file or a command line,
 * so one Nix cannot hold (a NUL, an unpaired surrogate) stops here, before other checks.
 */
export function text() {
  return z
    .preprocess(
      (v) => (typeof v === "boolean" || typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v)) ? String(v) : v),
      z.string(),
    )
    .superRefine((s, ctx) => {
      const p = textProblem(s);
      if (p !== undefined) ctx.addIssue({ code: "custom", message: `the text ${p}; write the character itself or its whole escape`, continue: false });
    });
}

/** A string checked by `problem`, which returns why it is unacceptable (or undefined). */
export function checkedText(problem: (s: string) => string | undefined) {
  return text().superRefine((s, ctx) => {
    const p = problem(s);
    if (p !== undefined) ctx.addIssue({ code: "custom", message: p });
  });
}

/**
 * A number; a numeric string (what `pulumi config set --path` stores for 1.5) is accepted
 * too, and an integer too long for a double (a bigint) is compared as the nearest number.
 */
export function num<T extends z.ZodNumber>(schema: T) {
  return z.preprocess(
    (v) => (typeof v === "string" && /^-?[0-9]+(\.[0-9]+)?$/.test(v.trim()) ? Number(v) : typeof v === "bigint" ? Number(v) : v),
    schema,
  );
}

/** true/false; the strings "true"/"false" too. */
export function bool() {
  return z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
}

/** Short description of a value for messages: strings quoted and cut, containers by kind. */
export function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return String(v);
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a map (key: value)",
  array: "a list",
  record: "a map (key: value)",
};

/** zod issue → our wording; undefined keeps zod's message (custom issues carry their own). */
export function messageFor(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return "required but missing";
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
    case "invalid_value":
      return `${describeValue(iss.input)} is not one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small": {
      const min = Number(iss.minimum);
      if (iss.origin === "array") return `needs at least ${min} item${min === 1 ? "" : "s"}`;
      if (iss.origin === "string") return "must not be empty";
      return iss.inclusive ? `${describeValue(iss.input)} is below the minimum ${min}` : `must be greater than ${min}, got ${describeValue(iss.input)}`;
    }
    case "too_big": {
      const max = Number(iss.maximum);
      if (iss.origin === "array") return `takes at most ${max} items`;
      if (iss.origin === "string") return `must be at most ${max} characters`;
      return `${describeValue(iss.input)} is above the maximum ${max}`;
    }
    default:
      return undefined;
  }
}
