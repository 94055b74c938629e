/**
 * The validated inventory as the rest of the program sees it, and the file access it is given.
 */
import type { NixAttrs } from "../render/nixValue";
import type { InventorySource } from "./errors";
import type { ParsedHost, ParsedInventory } from "./schema";

/** Exactly NixAttrs (already read-only; recursing into it would never end). */
type IsNixAttrs<T> = [T] extends [NixAttrs] ? ([NixAttrs] extends [T] ? true : false) : false;

/** Read-only all the way down. */
export type DeepReadonly<T> =
  IsNixAttrs<T> extends true
    ? T
    : T extends (infer U)[]
      ? readonly DeepReadonly<U>[]
      : T extends object
        ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
        : T;

/** File access, injected so loading and planning stay pure and testable. */
export interface InventoryIo {
  /** Contents of a file (UTF-8); throws when it cannot be read. */
  readFile(absolutePath: string): string;
}

/** One host of a valid inventory: its connection data is present (address given). */
export type InventoryHost = DeepReadonly<Omit<ParsedHost, "address"> & { address: string }>;

/** A valid inventory: defaults applied, cross-field checks passed. */
export type Inventory = DeepReadonly<Omit<ParsedInventory, "hosts">> & {
  readonly hosts: readonly InventoryHost[];
  readonly source: InventorySource;
  /** Absolute project folder; relative paths in the inventory resolve against it. */
  readonly projectDir: string;
};
