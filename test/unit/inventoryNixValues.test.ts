/**
 * Values Nix cannot hold (subnormal floats, NaN, integers beyond 64 bits, unpaired surrogates,
 * NUL) are config errors at their inventory path, found before any plan is made; never a
 * stack trace from the serializer.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { InventoryError, formatPath } from "../../lib/inventory/errors";
import { loadInventory } from "../../lib/inventory/load";
import { planHosts } from "../../lib/inventory/plan";
import { HOST_KEYS, inlineInventory, loginKey, memoryIo, smallInventory } from "./helpers/fixtures";
import { nixEvalRaw } from "./helpers/nix";

type Json = Record<string, unknown> & { hosts: Record<string, unknown>[] };

function base(edit: (inv: Json) => void): Json {
  const inv = smallInventory([{ name: "srv1", role: "control-plane" }, { name: "srv2" }, { name: "srv3" }]) as Json;
  edit(inv);
  return inv;
}

function failure(inv: unknown): InventoryError {
  try {
    inlineInventory(inv);
  } catch (error) {
    if (error instanceof InventoryError) return error;
    throw error;
  }
  assert.fail("the inventory loaded, but it should have been rejected");
}

describe("inventory: values Nix cannot hold", () => {
  const cases: [string, (inv: Json) => void, string, RegExp][] = [
    [
      "a subnormal float",
      (i) => (i.nix = { settings: { boot: { x: 5e-324 } } }),
      "nix.settings.boot.x",
      /^5e-324 is too close to zero for a Nix float literal \(Nix reads nothing below 2\.2250738585072014e-308 but 0\); write a finite number of ordinary size \(or 0\), or a string if the option takes one$/,
    ],
    ["NaN", (i) => (i.hosts[2].nix = { settings: { a: [1, NaN] } }), "hosts[2].nix.settings.a[1]", /^NaN has no Nix equivalent/],
    [
      "an integer beyond 64 bits",
      (i) => (i.nix = { settings: { boot: { kernel: { sysctl: { "kernel.shmmax": 2n ** 64n } } } } }),
      'nix.settings.boot.kernel.sysctl["kernel.shmmax"]',
      /^18446744073709551616 is outside the range of Nix integers \(64-bit signed: -9223372036854775808 to 9223372036854775807\); give it as a string if the option takes one$/,
    ],
    [
      "a string with an unpaired surrogate",
      (i) => (i.hosts[1].nix = { settings: { users: { motd: "hi \uD83D" } } }),
      "hosts[1].nix.settings.users.motd",
      /^the text contains an unpaired UTF-16 surrogate .*no UTF-8 form; write the character itself or its whole escape$/,
    ],
    ["an attribute name with an unpaired surrogate", (i) => (i.nix = { settings: { environment: { "x\uDC00": "1" } } }), 'nix.settings.environment["x\\udc00"]', /^the key contains an unpaired UTF-16 surrogate/],
    ["a NUL in a setting", (i) => (i.nix = { settings: { a: "x\0" } }), "nix.settings.a", /^the text contains a NUL character/],
    // Strings outside nix.settings reach the rendered host.nix too.
    ["an authorized key whose comment has an unpaired surrogate", (i) => (i.ssh = { authorizedKeys: [`${HOST_KEYS[0]}\uD800`] }), "ssh.authorizedKeys[0]", /^the text contains an unpaired UTF-16 surrogate/],
    ["a k3s flag with a NUL", (i) => (i.k3s = { extraFlags: ["--node-label=a\0b"] }), "k3s.extraFlags[0]", /^the text contains a NUL character/],
    ["a label value with an unpaired surrogate", (i) => (i.hosts[0].labels = { pool: "a\uDC00" }), "hosts[0].labels.pool", /^the text contains an unpaired UTF-16 surrogate/],
  ];
  for (const [what, edit, path, message] of cases) {
    it(`names the path of ${what}`, () => {
      const err = failure(base(edit));
      assert.deepEqual(err.issues.map((i) => formatPath(i.path)), [path], err.message);
      assert.match(err.issues[0].message, message);
    });
  }

  it("finds one bad value hidden anywhere in good settings, at its exact path", () => {
    const name = fc.stringMatching(/^[a-z][a-zA-Z0-9-]{0,8}$/);
    const good: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.string({ maxLength: 8 }).filter((s) => !s.includes("\0")),
        fc.integer(),
        fc.boolean(),
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(name, tie("v"), { maxKeys: 3 }),
      ),
    })).v;
    const bad = fc.oneof(
      fc.double({ min: -2.2e-308, max: 2.2e-308, noNaN: true }).filter((x) => x !== 0),
      fc.constantFrom(NaN, Infinity, "\uD800", "a\0b"),
      fc.bigInt({ min: 2n ** 63n, max: 2n ** 80n }),
    );
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 4 }), fc.dictionary(name, good, { maxKeys: 3 }), bad, (keys, siblings, b) => {
        // A nested map along `keys`, the bad value at its end, good values beside it.
        const settings: Record<string, unknown> = { ...siblings };
        let at = settings;
        keys.slice(0, -1).forEach((k) => {
          at[k] = {};
          at = at[k] as Record<string, unknown>;
        });
        at[keys[keys.length - 1]] = b;
        const err = failure(base((i) => (i.hosts[2].nix = { settings })));
        assert.deepEqual(err.issues.map((i) => formatPath(i.path)), [formatPath(["hosts", 2, "nix", "settings", ...keys])]);
      }),
      { numRuns: 200 },
    );
  });

  it("keeps a YAML integer beyond 2^53 exact and refuses one beyond 64 bits with its line", () => {
    const yaml = (n: string) =>
      `kubernetes: { enabled: false }\nnix:\n  settings:\n    boot:\n      kernel:\n        sysctl:\n          kernel.shmmax: ${n}\nhosts:\n  - name: srv1\n    address: 10.0.0.1\n    hostKey: ${HOST_KEYS[0]}\n`;
    const io = memoryIo("/proj", { "ok.yaml": yaml("9223372036854775807"), "big.yaml": yaml("18446744073692774399") });
    const inv = loadInventory({ inventoryFile: "ok.yaml", projectDir: "/proj" }, io);
    const [spec] = planHosts(inv, { sshPrivateKey: loginKey(), values: {} }, io);
    const hostNix = spec.files["fleet/host.nix"];
    assert.ok(hostNix.includes('"kernel.shmmax" = 9223372036854775807;'), hostNix);
    assert.throws(
      () => loadInventory({ inventoryFile: "big.yaml", projectDir: "/proj" }, io),
      (e: unknown) =>
        e instanceof InventoryError &&
        e.message.split("\n")[1] ===
          '  big.yaml:7 nix.settings.boot.kernel.sysctl["kernel.shmmax"]: 18446744073692774399 is outside the range of Nix integers (64-bit signed: -9223372036854775808 to 9223372036854775807); give it as a string if the option takes one',
    );
    // What Nix reads back is the same integer.
    assert.equal(nixEvalRaw("toString 9223372036854775807"), '"9223372036854775807"');
  });

  it("keeps the small integers of other fields numbers when read from YAML", () => {
    const io = memoryIo("/proj", { "f.yaml": `ssh: { port: 2222 }\ntimeouts: { bootSeconds: 900 }\nhosts:\n  - name: srv1\n    address: 10.0.0.1\n    hostKey: ${HOST_KEYS[0]}\n    labels: { serial: 123456789012345678901 }\n` });
    const inv = loadInventory({ inventoryFile: "f.yaml", projectDir: "/proj" }, io);
    assert.equal(inv.ssh.port, 2222);
    assert.equal(inv.timeouts.bootSeconds, 900);
    // An unquoted long number as a label value keeps its digits.
    assert.equal(inv.hosts[0].labels.serial, "123456789012345678901");
  });
});
