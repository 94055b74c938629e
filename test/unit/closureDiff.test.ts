/** lib/nixos/closureDiff.ts and compare.ts: reading `nix store diff-closures` and the comparison command's result. */
import * as assert from "node:assert/strict";
import { parseClosureDiff, parseClosureDiffLine, parseSize, showVersions } from "../../lib/nixos/closureDiff";
import { compareScript, comparisonOf, diffClosuresCommand } from "../../lib/nixos/compare";

const RED = "\x1b[31;1m";
const GREEN = "\x1b[32;1m";
const NORMAL = "\x1b[0m";

describe("nix store diff-closures output", () => {
  const table: Array<[string, string, { name: string; removed: string[]; added: string[]; sizeDelta: number }]> = [
    ["a version change", "linux: 6.6.45 → 6.6.46", { name: "linux", removed: ["6.6.45"], added: ["6.6.46"], sizeDelta: 0 }],
    ["a version change with its size, coloured", `linux: 6.6.45 → 6.6.46, ${RED}+12.3 KiB${NORMAL}`, { name: "linux", removed: ["6.6.45"], added: ["6.6.46"], sizeDelta: 12595 }],
    ["an added package", `htop: ∅ → 3.3.0, ${RED}+412.0 KiB${NORMAL}`, { name: "htop", removed: [], added: ["3.3.0"], sizeDelta: 421888 }],
    ["a removed package", `kdeconnect: 20.08.2 → ∅, ${GREEN}-6597.8 KiB${NORMAL}`, { name: "kdeconnect", removed: ["20.08.2"], added: [], sizeDelta: -6756147 }],
    ["several versions on each side", "perl: 5.38.0, 5.38.2 → 5.40.0, 5.40.1, +8.0 KiB", { name: "perl", removed: ["5.38.0", "5.38.2"], added: ["5.40.0", "5.40.1"], sizeDelta: 8192 }],
    ["several versions, no size", "python3: 3.11.9 → 3.12.4, 3.12.5", { name: "python3", removed: ["3.11.9"], added: ["3.12.4", "3.12.5"], sizeDelta: 0 }],
    ["an empty version (ε)", "hello: ε → 2.12", { name: "hello", removed: [""], added: ["2.12"], sizeDelta: 0 }],
    ["an added package without a version", "fleet-script: ∅ → ε", { name: "fleet-script", removed: [], added: [""], sizeDelta: 0 }],
    ["a size change only", `bluez-qt: ${RED}+12.6 KiB${NORMAL}`, { name: "bluez-qt", removed: [], added: [], sizeDelta: 12902 }],
    ["a shrinking size only, without colour", "system: -9.0 KiB", { name: "system", removed: [], added: [], sizeDelta: -9216 }],
    ["a size in a later Nix's unit", "linux: 6.6.45 → 6.6.46, 1.5 MiB", { name: "linux", removed: ["6.6.45"], added: ["6.6.46"], sizeDelta: 1572864 }],
    ["a name with dashes and a +-version", "k3s: 1.30.3+k3s1 → 1.30.4+k3s1", { name: "k3s", removed: ["1.30.3+k3s1"], added: ["1.30.4+k3s1"], sizeDelta: 0 }],
  ];
  for (const [what, line, entry] of table) {
    it(`reads ${what}: ${JSON.stringify(line)}`, () => {
      assert.deepEqual(parseClosureDiffLine(line), entry);
    });
  }

  it("refuses lines that are none of Nix's forms", () => {
    for (const line of ["warning: the group 'nixbld' does not exist", "linux 6.6.45 → 6.6.46", "linux: ∅ → ∅", "linux: +12 apples", "no colon here"]) {
      assert.equal(parseClosureDiffLine(line), undefined, line);
    }
  });

  it("reads a whole output, skips blank lines and keeps what it did not understand", () => {
    const out = `initrd-linux: 6.6.45 → 6.6.46\nlinux: 6.6.45 → 6.6.46, ${RED}+123.4 KiB${NORMAL}\n\nnano: 8.0 → ∅\nsomething odd\n`;
    const parsed = parseClosureDiff(out);
    assert.deepEqual(parsed.entries.map((e) => e.name), ["initrd-linux", "linux", "nano"]);
    assert.deepEqual(parsed.unrecognised, ["something odd"]);
    assert.deepEqual(parseClosureDiff(""), { entries: [], unrecognised: [] });
  });

  it("parses sizes with and without a sign, in each unit", () => {
    assert.equal(parseSize("+1.0 KiB"), 1024);
    assert.equal(parseSize("-2.5 KiB"), -2560);
    assert.equal(parseSize("1.0 GiB"), 1024 ** 3);
    assert.equal(parseSize("12 apples"), undefined);
  });

  it("shows versions as Nix does", () => {
    assert.equal(showVersions([]), "∅");
    assert.equal(showVersions(["", "1.2"]), "ε, 1.2");
  });
});

describe("comparing two systems on the host", () => {
  const A = "/nix/store/aaa-nixos-system-srv2-24.05.20240812.5f2c6b1";
  const B = "/nix/store/bbb-nixos-system-srv2-24.05.20240819.8a7d3e2";

  it("asks for the nix-command feature itself and runs the diff in place of the shell", () => {
    assert.equal(diffClosuresCommand(A, B), `nix --extra-experimental-features nix-command store diff-closures ${A} ${B}`);
    assert.equal(diffClosuresCommand("/nix/store/x y", B), `nix --extra-experimental-features nix-command store diff-closures '/nix/store/x y' ${B}`);
    const script = compareScript(A, B);
    assert.match(script, new RegExp(`cat ${A}/nixos-version`));
    assert.match(script, /\nexec nix --extra-experimental-features nix-command store diff-closures /);
  });

  it("reads the versions from the first two lines and the diff from the rest", () => {
    const c = comparisonOf(A, B, { code: 0, stdout: "24.05.20240812.5f2c6b1\n24.05.20240819.8a7d3e2\nlinux: 6.6.45 → 6.6.46\n", stderr: "" });
    assert.equal(c.fromVersion, "24.05.20240812.5f2c6b1");
    assert.equal(c.toVersion, "24.05.20240819.8a7d3e2");
    assert.deepEqual(c.diff, { kind: "read", entries: [{ name: "linux", removed: ["6.6.45"], added: ["6.6.46"], sizeDelta: 0 }], unrecognised: [] });
  });

  it("says why a diff could not be read: an old Nix, or no nix at all", () => {
    const old = comparisonOf(A, B, { code: 1, stdout: "24.05\n24.05\n", stderr: "error: unrecognised flag '--extra-experimental-features'\nTry 'nix --help' for more information.\n" });
    assert.equal(old.diff.kind, "unreadable");
    assert.match((old.diff as { reason: string }).reason, /store diff-closures .* exited 1: error: unrecognised flag '--extra-experimental-features' \| Try 'nix --help'/);
    const missing = comparisonOf(A, B, { code: 127, stdout: "\n\n", stderr: "sh: 2: exec: nix: not found\n" });
    assert.match((missing.diff as { reason: string }).reason, /found no `nix` command \(exit 127\): sh: 2: exec: nix: not found/);
    assert.equal(missing.fromVersion, "");
  });
});
