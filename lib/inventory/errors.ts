/**
 * The one error family of the inventory: every problem found in one pass, each naming its path
 * in the inventory (`hosts[2].address`), what is wrong and what to do.
 */

/** Where the inventory came from; every message names it. */
export type InventorySource =
  | { readonly kind: "stack-config" }
  | { readonly kind: "file"; readonly path: string };

/** One problem. */
export interface InventoryIssue {
  /** Path inside the inventory, e.g. ["hosts", 2, "address"]; empty for the whole inventory. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** 1-based line in the inventory file, when known. */
  readonly line?: number;
  /**
   * Set when the problem is not inside the inventory itself (a secret stack config key, the
   * simulated fleet file): replaces the source and path at the start of the line.
   */
  readonly subject?: string;
}

/** How a source is named at the start of each problem line. */
export function sourceLabel(source: InventorySource): string {
  return source.kind === "file" ? source.path : "fleet:inventory";
}

/** How a source is named in the heading. */
export function describeSource(source: InventorySource): string {
  return source.kind === "file"
    ? `file ${source.path}, named by stack config fleet:inventoryFile`
    : "stack config fleet:inventory";
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `hosts[2].labels["node.kubernetes.io/pool"]` */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** One line of the report, e.g. `fleet:inventory hosts[2].address: "x" is not ...`. */
export function formatIssue(source: InventorySource, issue: InventoryIssue): string {
  if (issue.subject !== undefined) return `${issue.subject}: ${issue.message}`;
  const where = sourceLabel(source) + (issue.line !== undefined ? `:${issue.line}` : "");
  const path = formatPath(issue.path);
  return path === "" ? `${where}: ${issue.message}` : `${where} ${path}: ${issue.message}`;
}

/**
 * Why a file the configuration names could not be read, with what to do: `shown` is the name
 * as the user wrote it, `absolute` where it was looked for, `base` the folder it is relative
 * to, and `fix` what to do when it is missing (check the spelling, create it, ...).
 */
export function unreadableFile(error: unknown, shown: string, absolute: string, base: string, fix: string): string {
  const code = typeof error === "object" && error !== null && "code" in error ? (error as { code?: unknown }).code : undefined;
  const where = `looked for ${absolute}, relative to the project folder ${base} (where Pulumi.yaml is)`;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return `${shown} does not exist (${where}); ${fix}`;
    case "EACCES":
    case "EPERM":
      return `${shown} is not readable (${absolute}: permission denied); make it readable by the user who runs pulumi`;
    case "EISDIR":
      return `${shown} is a folder, not a file (${absolute}); name the file inside it`;
    default:
      return `cannot read ${shown} (${where}): ${error instanceof Error ? error.message : String(error)}; ${fix}`;
  }
}

/** The inventory (or what the plan needs besides it) is not usable; lists every problem found. */
export class InventoryError extends Error {
  constructor(
    readonly source: InventorySource,
    readonly issues: readonly InventoryIssue[],
  ) {
    const n = issues.length;
    const heading = `Invalid fleet inventory (${describeSource(source)}): ${n} problem${n === 1 ? "" : "s"}:`;
    super([heading, ...issues.map((i) => `  ${formatIssue(source, i)}`)].join("\n"));
    this.name = "InventoryError";
  }
}

/** Collects issues during a pass; throws them together at the end. */
export class IssueList {
  private readonly items: InventoryIssue[] = [];

  add(path: readonly (string | number)[], message: string): void {
    this.items.push({ path, message });
  }

  addIssue(issue: InventoryIssue): void {
    this.items.push(issue);
  }

  get issues(): readonly InventoryIssue[] {
    return this.items;
  }

  get empty(): boolean {
    return this.items.length === 0;
  }

  /** Throws an InventoryError when anything was collected. */
  throwIfAny(source: InventorySource): void {
    if (this.items.length > 0) throw new InventoryError(source, this.items);
  }
}
