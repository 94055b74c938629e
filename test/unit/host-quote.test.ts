import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { shellQuote } from "../../lib/host/quote";

/** What /bin/sh makes of each quoted word: printed back NUL-separated by one shell. */
function throughShell(words: readonly string[]): string[] {
  const script = `printf '%s\\0' ${words.map(shellQuote).join(" ")}`;
  const out = execFileSync("/bin/sh", ["-c", script], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

describe("shellQuote (lib/host/quote.ts)", function () {
  it("leaves plain words alone and quotes everything else", function () {
    assert.equal(shellQuote("/etc/nixos/configuration.nix"), "/etc/nixos/configuration.nix");
    assert.equal(shellQuote("--option=value"), "--option=value");
    assert.equal(shellQuote(""), "''");
    assert.equal(shellQuote("a b"), "'a b'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote("$(reboot)"), "'$(reboot)'");
    assert.equal(shellQuote("~root"), "'~root'");
  });

  it("survives /bin/sh unchanged for tricky words", function () {
    const words = ["", " ", "'", "''", '"', "\\", "$HOME", "`id`", "$(id)", "a;b", "a&&b", "*", "?", "[a]", "~", "#x", "\n", "a\nb", "é ü", "{a,b}", "!", "-n", "x=y"];
    assert.deepEqual(throughShell(words), words);
  });

  it("survives /bin/sh unchanged for any word (property)", function () {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 24 }).map((s) => s.replace(/\0/g, "")), { minLength: 1, maxLength: 20 }), (words) => {
        assert.deepEqual(throughShell(words), words);
      }),
      { numRuns: 60 },
    );
  });
});
