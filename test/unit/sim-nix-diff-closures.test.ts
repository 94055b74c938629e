/**
 * The simulated `nix` (sim/hosttools/nix.ts, diff-closures.ts, closure.ts): the closures the
 * build records, what `nix store diff-closures` prints for them, and its refusal without the
 * nix-command feature. Its output is read back with the product's parser, which must agree.
 */
import { strict as assert } from "node:assert";
import { parseClosureDiff } from "../../lib/nixos/closureDiff";
import { closureOf, type ClosurePath } from "../../sim/hosttools/closure";
import { diffClosures, drvName } from "../../sim/hosttools/diff-closures";
import type { EvalResult } from "../../sim/hosttools/evaluate";
import { enabledFeatures, hostStorePath, nix, NIX_COMMAND_DISABLED, type NixContext } from "../../sim/hosttools/nix";
import { planSystem } from "../../sim/hosttools/plan";

function evalResult(o: { version?: string; kernel?: string; packages?: string[] } = {}): EvalResult {
  const kernel = o.kernel ?? "6.6.45";
  const version = o.version ?? "24.05.20240812.5f2c6b1";
  return {
    hostName: "srv2",
    nixos: { version, release: "24.05", codeName: "Uakari", label: version, revision: null, stateVersion: "24.05", configurationRevision: null },
    kernel: { version: kernel, modDirVersion: kernel, package: `/nix/store/aaaa-linux-${kernel}`, patches: [] },
    extraModulePackages: [],
    kernelParams: [],
    systemPackages: o.packages ?? ["htop-3.3.0", "k3s-1.30.3+k3s1"],
    config: {},
  };
}
const closure = (o: Parameters<typeof evalResult>[0] = {}): ClosurePath[] => closureOf(planSystem(evalResult(o), "/nix/store"));
const plain = (lines: string[]) => lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, ""));

describe("simulated nix store diff-closures", () => {
  it("splits names as Nix's DrvName does", () => {
    assert.deepEqual(drvName("linux-6.6.45"), { name: "linux", version: "6.6.45" });
    assert.deepEqual(drvName("nixos-system-srv2-24.05.20240812.5f2c6b1"), { name: "nixos-system-srv2", version: "24.05.20240812.5f2c6b1" });
    assert.deepEqual(drvName("k3s-1.30.3+k3s1"), { name: "k3s", version: "1.30.3+k3s1" });
    assert.deepEqual(drvName("system-path"), { name: "system-path", version: "" });
  });

  it("records the kernel, its modules, the initrd, system-path and each package, with sizes fixed by name", () => {
    const c = closure();
    const names = c.map((p) => p.path.replace(/^\/nix\/store\/[a-z0-9]{32}-/, ""));
    assert.deepEqual(names, ["nixos-system-srv2-24.05.20240812.5f2c6b1", "linux-6.6.45", "linux-6.6.45-modules", "initrd-linux-6.6.45", "system-path", "htop-3.3.0", "k3s-1.30.3+k3s1"]);
    assert.deepEqual(closure(), c, "deterministic");
    for (const p of c) assert.ok(p.narSize > 0 && p.narSize % 8 === 0, `${p.path}: ${p.narSize}`);
  });

  it("a channel bump: the kernel (with its modules) and initrd move, and the system's version", () => {
    const lines = diffClosures(closure(), closure({ kernel: "6.6.46", version: "24.05.20240819.8a7d3e2" }));
    const shown = plain(lines);
    assert.equal(shown.length, 3, shown.join("\n"));
    assert.match(shown[0], /^initrd-linux: 6\.6\.45 → 6\.6\.46(, [+-]\d+\.\d KiB)?$/);
    assert.match(shown[1], /^linux: 6\.6\.45 → 6\.6\.46(, [+-]\d+\.\d KiB)?$/);
    assert.equal(shown[2], "nixos-system-srv2: 24.05.20240812.5f2c6b1 → 24.05.20240819.8a7d3e2");
    // Sizes carry Nix 2.18's colour: red when growing, green when shrinking.
    for (const l of lines.filter((x) => /KiB/.test(x))) assert.match(l, /\x1b\[(31|32);1m[+-]\d+\.\d KiB\x1b\[0m$/);
  });

  it("an added and a removed package, and system-path's size (a size-only line)", () => {
    const shown = plain(diffClosures(closure(), closure({ packages: ["k3s-1.30.3+k3s1", "jq-1.7.1", "vim-9.1.0377"] })));
    assert.equal(shown.find((l) => l.startsWith("htop:"))?.replace(/, .*$/, ""), "htop: 3.3.0 → ∅");
    assert.match(shown.find((l) => l.startsWith("jq:")) ?? "", /^jq: ∅ → 1\.7\.1, \+\d+\.\d KiB$/);
    assert.ok(shown.includes("system: +8.0 KiB"), shown.join("\n"));
    assert.deepEqual(shown.map((l) => l.split(":")[0]), ["htop", "jq", "system", "vim"], "in byte order, nothing unchanged");
  });

  it("the same closure prints nothing", () => {
    assert.deepEqual(diffClosures(closure(), closure()), []);
  });

  it("prints what the product's parser reads back", () => {
    const out = diffClosures(closure(), closure({ kernel: "6.1.104", packages: ["k3s-1.30.3+k3s1", "jq-1.7.1"] })).join("\n");
    const parsed = parseClosureDiff(out);
    assert.deepEqual(parsed.unrecognised, []);
    const linux = parsed.entries.find((e) => e.name === "linux");
    assert.deepEqual([linux?.removed, linux?.added], [["6.6.45"], ["6.1.104"]]);
    assert.deepEqual(parsed.entries.map((e) => e.name), ["htop", "initrd-linux", "jq", "linux"]);
    assert.deepEqual(parsed.entries.find((e) => e.name === "htop")?.added, []);
  });
});

describe("simulated nix: the nix-command feature", () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) } };
  };
  const closures: Record<string, ClosurePath[]> = { "/nix/store/a": closure(), "/nix/store/b": closure({ packages: ["htop-3.3.0", "k3s-1.30.3+k3s1", "jq-1.7.1"] }) };
  const ctx = (configTexts: string[] = []): NixContext => ({
    configTexts,
    storePath: (p) => p,
    readClosure: (s) => {
      const c = closures[s];
      if (!c) throw new Error(`error: no closure for ${s}`);
      return c;
    },
  });

  it("refuses without the feature, with Nix 2.18's own error", () => {
    const t = io();
    assert.equal(nix(["store", "diff-closures", "/nix/store/a", "/nix/store/b"], t.io, ctx()), 1);
    assert.deepEqual(t.err, [NIX_COMMAND_DISABLED]);
    assert.equal(NIX_COMMAND_DISABLED, "error: experimental Nix feature 'nix-command' is disabled; use '--extra-experimental-features nix-command' to override\n");
    assert.deepEqual(t.out, []);
  });

  it("runs with the feature from the command line, nix.conf, or NIX_CONFIG", () => {
    for (const [argv, conf] of [
      [["--extra-experimental-features", "nix-command", "store", "diff-closures", "/nix/store/a", "/nix/store/b"], []],
      [["store", "diff-closures", "--experimental-features", "nix-command flakes", "/nix/store/a", "/nix/store/b"], []],
      [["--option", "extra-experimental-features", "nix-command", "store", "diff-closures", "/nix/store/a", "/nix/store/b"], []],
      [["store", "diff-closures", "/nix/store/a", "/nix/store/b"], ["experimental-features = nix-command flakes # on\n"]],
    ] as Array<[string[], string[]]>) {
      const t = io();
      assert.equal(nix(argv, t.io, ctx(conf)), 0, `${argv.join(" ")}: ${t.err.join("")}`);
      assert.ok(plain(t.out).some((l) => l.startsWith("jq: ∅ → 1.7.1")), t.out.join(""));
    }
  });

  it("experimental-features replaces what came before; extra- adds to it", () => {
    assert.deepEqual([...enabledFeatures([["experimental-features", "nix-command"], ["experimental-features", "flakes"]])], ["flakes"]);
    assert.deepEqual([...enabledFeatures([["experimental-features", "flakes"], ["extra-experimental-features", "nix-command"]])].sort(), ["flakes", "nix-command"]);
  });

  it("says what is wrong with its arguments, and leaves other commands to the real nix", () => {
    const on = ["--extra-experimental-features", "nix-command", "store", "diff-closures"];
    const few = io();
    assert.equal(nix([...on, "/nix/store/a"], few.io, ctx()), 1);
    assert.match(few.err.join(""), /^error: more arguments are required/);
    const missing = io();
    assert.equal(nix([...on, "/nix/store/a", "/nix/store/zzz"], missing.io, ctx()), 1);
    assert.match(missing.err.join(""), /no closure for \/nix\/store\/zzz/);
    assert.throws(() => hostStorePath("/nonexistent/system"), /^Error: error: getting status of '\/nonexistent\/system': No such file or directory$/);
    assert.throws(() => hostStorePath("/tmp"), /^Error: error: path '\/tmp' is not in the Nix store$/);
    assert.equal(nix(["eval", "--expr", "1"], io().io, ctx()), "forward");
    assert.equal(nix(["store", "gc"], io().io, ctx()), "forward");
  });
});
