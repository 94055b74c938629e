import * as assert from "node:assert/strict";
import fc from "fast-check";
import { NIX_INT_MAX, NIX_INT_MIN, NixValueError, nixAttrName, nixNumber, nixString, toNix } from "../../lib/render/nixValue";
import { nixEvalJson, nixEvalRaw, nixParse } from "./helpers/nix";

/** Pieces that have broken Nix escaping somewhere: interpolation, escapes, both string syntaxes. */
const NASTY = ["$", "{", "}", "${", "$${", "\\${", "\\", '"', "''", "'''", "''$", "''\\", "\n", "\r", "\r\n", "\t", "#", "/*", "a", "é", "😀", "\u2028", "\u00a0", " "];
const nasty = fc.array(fc.constantFrom(...NASTY), { maxLength: 14 }).map((parts) => parts.join(""));
/** Any Unicode text Nix can hold (it cannot hold NUL). */
const anyText = fc
  .oneof(nasty, fc.string({ unit: "binary", maxLength: 24 }), fc.string({ unit: "grapheme", maxLength: 12 }))
  .filter((s) => !s.includes("\0"));

type Data = string | number | boolean | null | Data[] | { [k: string]: Data };
const data: fc.Arbitrary<Data> = fc.letrec<{ value: Data }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    anyText,
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(anyText, tie("value")), { maxLength: 4, selector: (e) => e[0] }).map((entries) => Object.fromEntries(entries)),
  ),
})).value;

describe("nixValue: the Nix serializer", () => {
  describe("round trips through the real nix-instantiate", () => {
    it("keeps any string unchanged (batches of strings, one Nix call per batch)", () => {
      fc.assert(
        fc.property(fc.array(anyText, { minLength: 1, maxLength: 150 }), (strings) => {
          assert.deepEqual(nixEvalJson(toNix(strings)), strings);
        }),
        { numRuns: 25 },
      );
    });

    it("keeps any attribute name as one attribute", () => {
      fc.assert(
        fc.property(fc.uniqueArray(anyText, { minLength: 1, maxLength: 120 }), (names) => {
          const attrs = Object.fromEntries(names.map((n, i) => [n, i]));
          assert.deepEqual(nixEvalJson(toNix(attrs)), attrs);
        }),
        { numRuns: 25 },
      );
    });

    it("keeps nested lists and attribute sets of strings, integers, booleans and null", () => {
      fc.assert(
        fc.property(fc.array(data, { minLength: 1, maxLength: 20 }), (values) => {
          assert.deepEqual(nixEvalJson(toNix(values)), values);
        }),
        { numRuns: 25 },
      );
    });

    it("writes floats that Nix reads as exactly the same double", () => {
      const normal = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => x === 0 || Math.abs(x) >= 2.2250738585072014e-308);
      fc.assert(
        fc.property(fc.array(normal, { minLength: 1, maxLength: 100 }), (xs) => {
          // fromJSON parses the shortest JSON digits exactly; Nix prints floats with 6 digits only.
          // JSON digits without a dot or exponent (integral doubles from 2^53 up to 1e21) would be
          // read by fromJSON as a 64-bit integer, which overflows above 2^63: give them a ".0".
          const json = (x: number) => (/^-?\d+$/.test(JSON.stringify(x)) && !Number.isSafeInteger(x) ? `${JSON.stringify(x)}.0` : JSON.stringify(x));
          const checks = xs.map((x) => `(builtins.fromJSON ${nixString(json(x))} == ${nixNumber(x)})`);
          assert.deepEqual(nixEvalJson(`[ ${checks.join(" ")} ]`), xs.map(() => true));
        }),
        { numRuns: 20 },
      );
    });

    it("keeps 64-bit integers given as bigints exact, the extremes too", () => {
      fc.assert(
        fc.property(fc.array(fc.bigInt({ min: NIX_INT_MIN, max: NIX_INT_MAX }), { minLength: 1, maxLength: 80 }), (xs) => {
          const all = [NIX_INT_MIN, NIX_INT_MAX, ...xs];
          // JSON would round them; compare Nix's own decimal text instead, and check they are ints.
          const checks = all.map((x) => `(builtins.isInt (${nixNumber(x)}) && toString (${nixNumber(x)}) == ${nixString(String(x))})`);
          assert.deepEqual(nixEvalJson(`[ ${checks.join(" ")} ]`), all.map(() => true));
          assert.deepEqual(nixEvalJson(`map toString ${toNix(all)}`), all.map(String));
        }),
        { numRuns: 10 },
      );
    });

    it("keeps integers integers and fractions floats, negative ones inside lists too", () => {
      const expr = `map (x: if builtins.isFloat x then "float" else if builtins.isInt x then "int" else "other") ${toNix([1, -1, 0, -0, 1.5, -2.5, 2 ** 60, Number.MAX_SAFE_INTEGER])}`;
      assert.deepEqual(nixEvalJson(expr), ["int", "int", "int", "int", "float", "float", "float", "int"]);
      assert.deepEqual(nixEvalJson(toNix([-3, [-4.5], { a: -5 }])), [-3, [-4.5], { a: -5 }]);
    });
  });

  describe("rejection: what Nix cannot hold is named by its path, never written", () => {
    const SMALLEST_NORMAL = 2.2250738585072014e-308;
    const subnormal = fc.double({ min: -SMALLEST_NORMAL, max: SMALLEST_NORMAL, noNaN: true }).filter((x) => x !== 0 && Math.abs(x) < SMALLEST_NORMAL);
    const outside = fc.oneof(fc.bigInt({ min: NIX_INT_MAX + 1n, max: 2n ** 70n }), fc.bigInt({ min: -(2n ** 70n), max: NIX_INT_MIN - 1n }));
    const lone = fc.tuple(anyText, fc.integer({ min: 0xd800, max: 0xdfff }), anyText).map(([a, c, b]) => {
      // A surrogate between texts that cannot complete it: no high one before a low one, no low after a high.
      const left = a.replace(/[\uD800-\uDBFF]$/, "x");
      const right = b.replace(/^[\uDC00-\uDFFF]/, "x");
      return `${left}${String.fromCharCode(c)}${right}`;
    });
    const bad = fc.oneof(
      subnormal.map((v) => ({ v, re: /too close to zero/ })),
      outside.map((v) => ({ v, re: /outside the range of Nix integers/ })),
      lone.map((v) => ({ v, re: /unpaired UTF-16 surrogate/ })),
      fc.constantFrom(NaN, Infinity, -Infinity).map((v) => ({ v, re: /has no Nix equivalent/ })),
    );

    it("throws NixValueError at the exact path of one bad value hidden in good data", () => {
      fc.assert(
        fc.property(fc.array(data, { maxLength: 6 }), fc.nat(), bad, fc.boolean(), (values, at, b, asName) => {
          const i = at % (values.length + 1);
          const list: unknown[] = [...values];
          if (asName && typeof b.v === "string") list.splice(i, 0, { ok: 1, [b.v]: true });
          else list.splice(i, 0, { inner: [b.v] });
          const where = asName && typeof b.v === "string" ? `cfg[${i}][${JSON.stringify(b.v)}]` : `cfg[${i}].inner[0]`;
          assert.throws(
            () => toNix(list, { root: "cfg" }),
            (e: unknown) => e instanceof NixValueError && e.path === where && b.re.test(e.problem),
          );
        }),
        { numRuns: 300 },
      );
    });

    it("is right to: Nix 2.8 itself refuses the subnormal and out-of-range literals", () => {
      fc.assert(
        fc.property(fc.oneof(subnormal.map((x) => `${String(Math.abs(x)).replace(/^(\d+)e/, "$1.e")}`), outside.map((n) => String(n < 0n ? -n : n))), (literal) => {
          assert.throws(() => nixParse(literal), /invalid (float|integer)/);
        }),
        { numRuns: 8 },
      );
    });
  });

  describe("strings", () => {
    it("escapes interpolation but leaves a lone $ alone", () => {
      assert.equal(nixString("${HOME}"), '"\\${HOME}"');
      assert.equal(nixString("cost: 5$"), '"cost: 5$"');
      assert.equal(nixString("$$"), '"$$"');
      assert.deepEqual(nixEvalJson(toNix(["${x}", "$${x}", "$", "a$", "\\${x}", "''${x}"])), ["${x}", "$${x}", "$", "a$", "\\${x}", "''${x}"]);
    });

    it("writes control characters as escapes (Nix would read a raw CR as LF)", () => {
      assert.equal(nixString("a\r\nb\tc"), '"a\\r\\nb\\tc"');
    });

    it("rejects NUL and unpaired surrogates, naming the path", () => {
      assert.throws(() => toNix({ a: ["ok", "x\0y"] }), (e: unknown) => e instanceof NixValueError && e.path === "value.a[1]" && /NUL/.test(e.message));
      assert.throws(() => toNix({ k: "\uD800" }, { root: "settings" }), /settings\.k: .*surrogate/);
      assert.throws(() => toNix({ "bad\0key": 1 }), /attribute name contains a NUL/);
    });
  });

  describe("attribute sets", () => {
    it("takes a dotted key as one quoted attribute, never as a path", () => {
      assert.equal(toNix({ "a.b": 1 }), '{\n  "a.b" = 1;\n}');
      assert.deepEqual(nixEvalJson(toNix({ "a.b": { c: 1 }, a: { b: 2 } })), { "a.b": { c: 1 }, a: { b: 2 } });
    });

    it("quotes keywords and non-identifiers, leaves identifiers bare", () => {
      assert.equal(nixAttrName("enable"), "enable");
      assert.equal(nixAttrName("systemd-boot"), "systemd-boot");
      assert.equal(nixAttrName("x'"), "x'");
      for (const k of ["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or", "1a", "", "a b", "é"]) {
        assert.equal(nixAttrName(k), JSON.stringify(k), k);
      }
      assert.equal(nixEvalRaw(`(${toNix({ or: 1, rec: 2, in: 3 })})."rec"`), "2");
    });

    it("sorts names and indents deterministically, whatever the insertion order", () => {
      const a = toNix({ b: [1, { y: true, x: null }], a: "s", c: {} , d: [] });
      const b = toNix({ d: [], c: {}, a: "s", b: [1, { x: null, y: true }] });
      assert.equal(a, b);
      assert.equal(a, '{\n  a = "s";\n  b = [\n    1\n    {\n      x = null;\n      y = true;\n    }\n  ];\n  c = { };\n  d = [ ];\n}');
    });
  });

  describe("values without a Nix equivalent", () => {
    const cases: [string, unknown, RegExp][] = [
      ["undefined attribute", { a: { b: undefined } }, /value\.a\.b: undefined has no Nix equivalent/],
      ["function", { f: () => 1 }, /value\.f: a value of type function/],
      ["NaN", [1, NaN], /value\[1\]: NaN has no Nix equivalent/],
      ["Infinity", { x: Infinity }, /value\.x: Infinity/],
      ["-Infinity", { x: -Infinity }, /value\.x: -Infinity/],
      ["subnormal float", { x: 5e-324 }, /value\.x: .*too close to zero/],
      ["largest subnormal float", { x: 2.225073858507201e-308 }, /^value\.x: 2\.225073858507201e-308 is too close to zero for a Nix float literal/],
      ["integer above 64 bits", { n: 2n ** 63n }, /^value\.n: 9223372036854775808 is outside the range of Nix integers \(64-bit signed/],
      ["integer below 64 bits", [NIX_INT_MIN - 1n], /^value\[0\]: -9223372036854775809 is outside the range of Nix integers/],
      ["symbol", [Symbol("s")], /value\[0\]: a value of type symbol/],
      ["Date", { when: new Date(0) }, /value\.when: a Date has no Nix equivalent/],
      ["Map", { m: new Map() }, /value\.m: a Map/],
      ["top-level undefined", undefined, /^value: a value of type undefined/],
    ];
    for (const [name, value, message] of cases) {
      it(`rejects ${name}`, () => assert.throws(() => toNix(value), (e: unknown) => e instanceof NixValueError && message.test(e.message)));
    }

    it("rejects cycles and list holes", () => {
      const loop: Record<string, unknown> = {};
      loop.self = { again: loop };
      assert.throws(() => toNix(loop), /value\.self\.again: the value contains itself/);
      // eslint-disable-next-line no-sparse-arrays
      assert.throws(() => toNix([1, , 3]), /value\[1\]: the list has a hole/);
    });

    it("accepts the same object twice when it is no cycle", () => {
      const shared = { x: 1 };
      assert.deepEqual(nixEvalJson(toNix({ a: shared, b: shared })), { a: { x: 1 }, b: { x: 1 } });
    });
  });
});
