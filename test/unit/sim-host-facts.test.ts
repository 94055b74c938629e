import * as assert from "node:assert/strict";
import { kernelFacts } from "../../sim/hosttools/host-facts";
import type { SystemInfo } from "../../sim/hosttools/system-info";
import { uname, type UnameFacts } from "../../sim/hosttools/uname";

const FACTS: UnameFacts = {
  kernelName: "Linux",
  nodename: "srv1",
  release: "6.6.45",
  version: "#1-NixOS SMP PREEMPT_DYNAMIC Tue Jan  1 00:00:00 UTC 1980",
  machine: "x86_64",
  processor: "unknown",
  hardwarePlatform: "unknown",
  operatingSystem: "GNU/Linux",
};

function run(argv: readonly string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = uname(argv, FACTS, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe("sim host tools: uname", function () {
  const table: Array<[readonly string[], string]> = [
    [[], "Linux\n"],
    [["-r"], "6.6.45\n"],
    [["--kernel-release"], "6.6.45\n"],
    [["--kernel-r"], "6.6.45\n"],
    [["-rs"], "Linux 6.6.45\n"],
    [["-r", "-n"], "srv1 6.6.45\n"],
    [["-a"], "Linux srv1 6.6.45 #1-NixOS SMP PREEMPT_DYNAMIC Tue Jan  1 00:00:00 UTC 1980 x86_64 GNU/Linux\n"],
    [["-p"], "unknown\n"],
    [["-m", "-o"], "x86_64 GNU/Linux\n"],
  ];
  for (const [argv, expected] of table) {
    it(`uname ${argv.join(" ") || "(no options)"} prints ${JSON.stringify(expected)}`, function () {
      assert.deepEqual(run(argv), { code: 0, out: expected, err: "" });
    });
  }

  it("refuses what coreutils refuses, with its words", function () {
    assert.deepEqual(run(["-x"]), { code: 1, out: "", err: "uname: invalid option -- 'x'\nTry 'uname --help' for more information.\n" });
    assert.deepEqual(run(["-r", "extra"]), { code: 1, out: "", err: "uname: extra operand 'extra'\nTry 'uname --help' for more information.\n" });
    assert.match(run(["--kernel"]).err, /option '--kernel' is ambiguous; possibilities: '--kernel-name' '--kernel-release' '--kernel-version'/);
    assert.match(run(["--bogus"]).err, /unrecognized option '--bogus'/);
  });
});

describe("sim host tools: kernel facts of a boot", function () {
  const info = {
    system: "/nix/store/0000000000000000000000000000000a-nixos-system-srv1-24.05.20240812.5f2c6b1",
    kernelParams: ["loglevel=4", "console=ttyS0,115200"],
  } as Partial<SystemInfo> as SystemInfo;

  it("puts init= of the system and its kernel parameters on the command line, as systemd-boot's entry does", function () {
    const f = kernelFacts(info, "6.6.45");
    assert.equal(f.cmdline, `init=${info.system}/init loglevel=4 console=ttyS0,115200\n`);
    assert.equal(f.release, "6.6.45\n");
    assert.match(f.procVersion, /^Linux version 6\.6\.45 \(nixbld@localhost\) .* #1-NixOS SMP PREEMPT_DYNAMIC .*\n$/);
  });

  it("has no trailing space without kernel parameters", function () {
    assert.equal(kernelFacts({ ...info, kernelParams: [] }, "6.1.104").cmdline, `init=${info.system}/init\n`);
  });
});
