/**
 * Loading the inventory: from the structured stack config key fleet:inventory or from the YAML
 * file fleet:inventoryFile names, through the one schema and the cross-field checks. Every problem is collected into one InventoryError.
 */
import * as path from "node:path";
import { isNode, LineCounter, parseDocument, type Document } from "yaml";
import { checkInventory } from "./checks";
import { CONFIG_KEYS } from "./defaults";
import { InventoryError, IssueList, unreadableFile, type InventoryIssue, type InventorySource } from "./errors";
import { inventorySchema, type ParsedInventory } from "./schema";
import type { Inventory, InventoryHost, InventoryIo } from "./types";
import { messageFor } from "./zodParts";

/** What the program read from stack config (plain values; the secrets are not needed here). */
export interface InventoryInput {
  /** fleet:inventory as Config.getObject returns it (a YAML/JSON string is parsed too). */
  readonly inventory?: unknown;
  /** fleet:inventoryFile: a YAML file, relative to the project folder. */
  readonly inventoryFile?: string;
  /** The Pulumi project folder (where Pulumi.yaml is). */
  readonly projectDir: string;
}

interface Raw {
  readonly data: unknown;
  /** Line of a path in the YAML text, when the inventory came from YAML. */
  readonly lineOf?: (p: readonly (string | number)[]) => number | undefined;
}

function fromYaml(text: string, issues: IssueList): Raw | undefined {
  const lineCounter = new LineCounter();
  // Integers are read as bigints first so one beyond 2^53 keeps its digits (and one beyond
  // Nix's 64 bits can be named) instead of being rounded silently; see exactIntegers.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, intAsBigInt: true });
  for (const e of doc.errors) {
    issues.addIssue({ path: [], line: e.linePos?.[0].line, message: `not valid YAML: ${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}` });
  }
  if (doc.errors.length > 0) return undefined;
  try {
    return { data: exactIntegers(doc.toJS({ maxAliasCount: 100 })), lineOf: (p) => lineOf(doc, lineCounter, p) };
  } catch (error) {
    // Aliases are resolved only here (an unknown anchor, an alias bomb).
    issues.addIssue({ path: [], message: `not valid YAML: ${error instanceof Error ? error.message : String(error)}` });
    return undefined;
  }
}

/** Integers a double holds exactly become numbers again; only longer ones stay bigints. */
function exactIntegers(v: unknown): unknown {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(exactIntegers);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) {
      // defineProperty: a key "__proto__" must stay an ordinary key.
      Object.defineProperty(out, k, { value: exactIntegers(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

function lineOf(doc: Document, lc: LineCounter, p: readonly (string | number)[]): number | undefined {
  // The deepest node that exists along the path: a missing key points at its parent map.
  for (let n = p.length; n >= 0; n--) {
    const node = doc.getIn(p.slice(0, n), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

function readRaw(input: InventoryInput, io: InventoryIo, issues: IssueList): { source: InventorySource; raw?: Raw } {
  const hasInline = input.inventory !== undefined && input.inventory !== null;
  const file = input.inventoryFile?.trim() ? input.inventoryFile : undefined;
  if (hasInline && file !== undefined) {
    issues.addIssue({ path: [], subject: `${CONFIG_KEYS.inventory} and ${CONFIG_KEYS.inventoryFile}`, message: "both are set; keep one (`pulumi config rm fleet:inventory` or `pulumi config rm fleet:inventoryFile`)" });
    return { source: { kind: "stack-config" } };
  }
  if (file !== undefined) {
    const source: InventorySource = { kind: "file", path: file };
    let text: string;
    const absolute = path.resolve(input.projectDir, file);
    try {
      text = io.readFile(absolute);
    } catch (error) {
      const fix = `check the spelling, create the file, or point the key at the right one: \`pulumi config set ${CONFIG_KEYS.inventoryFile.split(":")[1]} <path relative to the project folder>\``;
      issues.addIssue({ path: [], subject: CONFIG_KEYS.inventoryFile, message: unreadableFile(error, file, absolute, input.projectDir, fix) });
      return { source };
    }
    return { source, raw: fromYaml(text, issues) };
  }
  if (hasInline) {
    const source: InventorySource = { kind: "stack-config" };
    return { source, raw: typeof input.inventory === "string" ? fromYaml(input.inventory, issues) : { data: input.inventory } };
  }
  issues.addIssue({
    path: [],
    subject: "no inventory",
    message:
      "set fleet:inventoryFile to a YAML file (`pulumi config set fleet:inventoryFile inventory/prod.yaml`) " +
      "or fill fleet:inventory (`pulumi config set --path 'fleet:inventory.hosts[0].name' srv1`)",
  });
  return { source: { kind: "stack-config" } };
}

/** With a YAML source: each issue gets its line, and the list follows the file from top to bottom. */
function located(issues: readonly InventoryIssue[], lineOfPath: Raw["lineOf"]): InventoryIssue[] {
  if (lineOfPath === undefined) return [...issues];
  const withLines = issues.map((i) => (i.line === undefined && i.subject === undefined ? { ...i, line: lineOfPath(i.path) } : i));
  return withLines
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || a.index - b.index)
    .map((e) => e.issue);
}

/** Narrows hosts to those with an address; only called once the checks found none missing. */
function withAddresses(inv: ParsedInventory): InventoryHost[] {
  return inv.hosts.flatMap((h) => (h.address === undefined ? [] : [{ ...h, address: h.address }]));
}

/**
 * Loads and validates the inventory. Throws InventoryError listing every problem,
 * each with its path (`hosts[2].address`) and, for a file, its line.
 */
export function loadInventory(input: InventoryInput, io: InventoryIo): Inventory {
  const issues = new IssueList();
  const projectDir = path.resolve(input.projectDir);
  const { source, raw } = readRaw({ ...input, projectDir }, io, issues);
  if (raw === undefined) throw new InventoryError(source, issues.issues);
  const parsed = inventorySchema.safeParse(raw.data, { error: messageFor });
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      issues.add(i.path.filter((s): s is string | number => typeof s !== "symbol"), i.message);
    }
    throw new InventoryError(source, located(issues.issues, raw.lineOf));
  }
  const inv = parsed.data;
  checkInventory(inv, issues);
  if (!issues.empty) throw new InventoryError(source, located(issues.issues, raw.lineOf));
  return { ...inv, hosts: withAddresses(inv), source, projectDir };
}
