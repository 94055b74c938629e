/**
 * Store path hashes the way Nix prints them: a SHA-256 digest folded to 160 bits and
 * written in Nix's base-32 alphabet (32 characters, no e/o/t/u).
 */
import { createHash } from "node:crypto";

const ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";

/** Nix's base-32 encoding of a byte string (least significant 5-bit group last). */
export function nixBase32(bytes: Uint8Array): string {
  const length = Math.floor((bytes.length * 8 - 1) / 5) + 1;
  let out = "";
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    const low = bytes[i] >> j;
    const high = i + 1 < bytes.length ? bytes[i + 1] << (8 - j) : 0;
    out += ALPHABET[(low | high) & 0x1f];
  }
  return out;
}

/** XOR-folds a digest to `size` bytes, as Nix does before naming a store path. */
export function compressHash(digest: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  digest.forEach((byte, i) => {
    out[i % size] ^= byte;
  });
  return out;
}

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The 32-character hash part of a store path derived from `kind` and its inputs. */
export function storeHash(kind: string, inputs: unknown): string {
  const digest = createHash("sha256").update(`${kind}\0${canonicalJson(inputs)}`).digest();
  return nixBase32(compressHash(digest, 20));
}

/** True for a store path name's hash part: 32 characters of Nix's base-32 alphabet. */
export function isStoreHash(s: string): boolean {
  return /^[0-9abcdfghijklmnpqrsvwxyz]{32}$/.test(s);
}
