/**
 * Test inputs: an in-memory project folder, a login key generated per run (no private key is
 * ever committed), and the example inventories.
 */
import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { formatPath, InventoryError } from "../../../lib/inventory/errors";
import { readTree, type TreeEntry } from "../../../lib/inventory/fsTree";
import { loadInventory, type InventoryInput } from "../../../lib/inventory/load";
import type { PlanIo } from "../../../lib/inventory/plan";
import type { Inventory } from "../../../lib/inventory/types";
import { nixModulesDir } from "../../../lib/render/static";
import { fleetInventory } from "../../../sim/inventory";

/** The repository root (tests run from dist/test/unit). */
export const REPO = path.resolve(nixModulesDir(__dirname), "..");

let cachedKey: string | undefined;
/** An RSA private key in PEM, made once per test run. */
export function loginKey(): string {
  cachedKey ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return cachedKey;
}

/** Valid host key lines (public keys are not secret). */
export const HOST_KEYS = [
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINkBfKyk6MyX6ryicWwPJwIdHI+W4cmsmU5o+lcsIu1g root@a",
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlW0GaCnBUCQLqmGdYO5nhpjRuiyRg0yX+HSnPL6ILF root@b",
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBCDKXPWHDKiitYfhAxVX8QYRGgIWx8DEm4DRBibYRB8 root@c",
] as const;

/** A simulated fleet's fleet.json (the parts the inventory writer reads), state folder /state. */
export const SIM_FLEET = {
  hosts: ["srv1", "srv2", "srv3"].map((name, i) => ({ name, address: `10.77.0.${i + 2}`, port: 22, hostKey: HOST_KEYS[i] })),
  kubeconfig: "kubeconfig",
} as const;

/** inventory/dev.yaml filled in for SIM_FLEET, as `npm run sim -- inventory` writes it. */
export function devInventoryText(): string {
  return fleetInventory(fs.readFileSync(path.join(REPO, "inventory/dev.yaml"), "utf8"), "inventory/dev.yaml", SIM_FLEET, "/state");
}

/**
 * File access over an in-memory map of project-relative paths, falling back to the real
 * repository for the static modules in nix/ (and for `realFiles`).
 */
export function memoryIo(projectDir: string, files: Readonly<Record<string, string>>, realFiles = false): PlanIo & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readFile(p: string): string {
      reads.push(p);
      const rel = path.relative(projectDir, p);
      if (Object.prototype.hasOwnProperty.call(files, rel)) return files[rel];
      if (p.startsWith(nixModulesDir() + path.sep) || realFiles) return fs.readFileSync(p, "utf8");
      // Shaped like the error fs.readFileSync throws, code included.
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: "ENOENT" });
    },
    readTree(dir: string): TreeEntry[] {
      const rel = path.relative(projectDir, dir);
      const prefix = rel === "" ? "" : `${rel}/`;
      const inside = Object.keys(files).filter((f) => f.startsWith(prefix)).sort();
      if (inside.length === 0) {
        if (realFiles) return readTree(dir);
        throw Object.assign(new Error(`ENOENT: no such file or directory, scandir '${dir}'`), { code: "ENOENT" });
      }
      return inside.map((f) => ({ kind: "file", path: f.slice(prefix.length), size: Buffer.byteLength(files[f]) }));
    },
  };
}

/** A real-filesystem io rooted at the repository. */
export function repoIo(): PlanIo {
  return { readFile: (p) => fs.readFileSync(p, "utf8"), readTree };
}

/** Loads an inventory given as a plain object (the stack config form). */
/**
 * What a refused inventory was refused for: each issue's subject (its path when it names none)
 * and message. Fails the test when the inventory loads.
 */
export function refusalsOf(inventory: unknown, extra: Partial<InventoryInput> = {}, files: Record<string, string> = {}): Map<string, string> {
  try {
    inlineInventory(inventory, extra, files);
  } catch (error) {
    if (!(error instanceof InventoryError)) throw error;
    return new Map(error.issues.map((i) => [i.subject ?? formatPath(i.path), i.message]));
  }
  assert.fail("the inventory loaded, but it should have been rejected");
}

export function inlineInventory(inventory: unknown, extra: Partial<InventoryInput> = {}, files: Record<string, string> = {}): Inventory {
  return loadInventory({ inventory, projectDir: "/project", ...extra }, memoryIo("/project", files));
}

/** The smallest valid inventory with `hosts` (name/role pairs), pinned keys and addresses. */
export function smallInventory(hosts: readonly { name: string; role?: "control-plane" | "worker" }[]): Record<string, unknown> {
  return {
    kubernetes: { enabled: false },
    hosts: hosts.map((h, i) => ({ ...h, address: `10.0.0.${i + 1}`, hostKey: HOST_KEYS[i % HOST_KEYS.length] })),
  };
}
