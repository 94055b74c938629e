/**
 * The product (index.ts, lib/, providers/) never imports the simulated fleet: what runs against
 * real hosts must not know about, or depend on, the simulation it is tested against.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "./helpers/fixtures";

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

describe("layering", () => {
  it("keeps sim/ out of the product's imports", () => {
    const product = [path.join(REPO, "index.ts"), ...sources(path.join(REPO, "lib")), ...sources(path.join(REPO, "providers"))];
    assert.ok(product.length > 20, `found the product's sources (${product.length})`);
    const offenders: string[] = [];
    for (const file of product) {
      const text = fs.readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)["']([^"']+)["']/g)) {
        const target = path.resolve(path.dirname(file), m[1]);
        if (m[1].startsWith(".") && (target === path.join(REPO, "sim") || target.startsWith(path.join(REPO, "sim") + path.sep))) {
          offenders.push(`${path.relative(REPO, file)} imports ${m[1]}`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });
});
