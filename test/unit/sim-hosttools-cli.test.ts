/**
 * Command lines and decisions of the simulated host tools: nixos-rebuild's argument rules,
 * failing units, systemd's state, faults.json and the initial configuration.
 */
import { strict as assert } from "node:assert";
import { parseFaults, parseFaultScopes } from "../../sim/hosttools/faults";
import { breaks } from "../../sim/types";
import { initialConfiguration } from "../../sim/hosttools/initial-config";
import { parseRebuildArgs } from "../../sim/hosttools/rebuild-args";
import { DEGRADED_FAULT_UNIT, failedUnits, systemState, unitState, type StateInput } from "../../sim/hosttools/system-state";
import { deriveUnits, execStartFails, scriptFails } from "../../sim/hosttools/units";

const ARGV0 = "/run/current-system/sw/bin/nixos-rebuild";

describe("sim host tools: nixos-rebuild arguments", () => {
  const cases: ReadonlyArray<readonly [string, string[], unknown]> = [
    ["no action", [], { kind: "usage" }],
    ["two actions", ["switch", "boot"], { kind: "usage" }],
    ["--help", ["boot", "--help"], { kind: "usage" }],
    ["an unknown option", ["switch", "--frobnicate"], { kind: "error", message: `${ARGV0}: unknown option \`--frobnicate'` }],
    ["-I without its value", ["switch", "-I"], { kind: "error", message: "" }],
    ["--option with one value", ["boot", "--option", "cores"], { kind: "error", message: "" }],
    ["--install-grub", ["boot", "--install-grub"], { kind: "error", message: `${ARGV0}: --install-grub deprecated, use --install-bootloader instead` }],
  ];
  for (const [what, argv, expected] of cases) {
    it(`refuses ${what} like the real script`, () => assert.deepEqual(parseRebuildArgs(argv, ARGV0), expected));
  }

  it("accepts the real script's options and passes the Nix ones on", () => {
    const parsed = parseRebuildArgs(["boot", "--fast", "-v", "--show-trace", "-I", "nixos-config=/x.nix", "--option", "cores", "2", "--upgrade", "--rollback", "-j4", "--keep-going", "--max-jobs", "8"], ARGV0);
    assert.equal(parsed.kind, "ok");
    if (parsed.kind !== "ok") return;
    const a = parsed.args;
    assert.deepEqual(
      [a.action, a.buildNix, a.verbose, a.showTrace, a.upgrade, a.rollback, a.includePaths, a.nixOptions, a.unsupported],
      ["boot", false, true, true, true, true, ["nixos-config=/x.nix"], [["cores", "2"]], []],
    );
    const dry = parseRebuildArgs(["dry-run"], ARGV0);
    assert.equal(dry.kind === "ok" && dry.args.action, "dry-build");
  });

  it("parses but flags what a simulated host cannot do, and keeps the flake it builds", () => {
    const parsed = parseRebuildArgs(["switch", "--flake", ".#a", "--target-host", "root@b"], ARGV0);
    assert.deepEqual(parsed.kind === "ok" && parsed.args.unsupported, ["--target-host root@b"]);
    assert.equal(parsed.kind === "ok" && parsed.args.flake, ".#a");
    assert.deepEqual(parseRebuildArgs(["build", "--flake"], ARGV0), { kind: "error", message: "" });
  });
});

describe("sim host tools: failing units", () => {
  it("fails on an ExecStart running false, unless systemd is told to ignore the failure", () => {
    assert.equal(execStartFails("/nix/store/abc-coreutils-9.5/bin/false"), true);
    assert.equal(execStartFails("@/bin/false false"), true);
    assert.equal(execStartFails("-/bin/false"), false);
    assert.equal(execStartFails("/bin/true --false"), false);
    assert.equal(scriptFails("echo starting\nexit 3\n"), true);
    assert.equal(scriptFails("false\n# done\n"), true);
    assert.equal(scriptFails("false || true"), false);
  });

  it("derives units from well-known options and systemd.services", () => {
    const { units, failing } = deriveUnits({
      services: { openssh: { enable: true }, k3s: { enable: false } },
      systemd: {
        services: {
          good: { enable: true, serviceConfig: { ExecStart: "/bin/true" } },
          bad: { enable: true, serviceConfig: { ExecStart: ["/bin/true", "/bin/false"] } },
          off: { enable: false, serviceConfig: { ExecStart: "/bin/false" } },
        },
      },
    });
    assert.ok(units.includes("sshd.service") && units.includes("good.service") && units.includes("bad.service"));
    assert.ok(!units.includes("k3s.service") && !units.includes("off.service"));
    assert.deepEqual(failing, ["bad.service"]);
  });

  it("fails k3s.service when its flags name one k3s does not define for its role", () => {
    const k3s = (k: Record<string, unknown>) => deriveUnits({ services: { k3s: { enable: true, ...k } } });
    assert.deepEqual(k3s({ extraFlags: "--node-name=a --node-label=zone=a --disable traefik" }).failing, []);
    assert.deepEqual(k3s({ extraFlags: "--node-name=a --nodename=b" }).failing, ["k3s.service"]);
    assert.deepEqual(k3s({ role: "agent", extraFlags: ["--cluster-init"] }).failing, ["k3s.service"]);
    assert.deepEqual(k3s({ role: "server", extraFlags: ["--cluster-init"] }).failing, []);
  });
});

describe("sim host tools: systemd state", () => {
  const s = (o: Partial<StateInput>): StateInput => ({ bootedAtMs: 1000, nowMs: 2000, settleMs: 400, degradedFault: false, units: ["sshd.service"], failingUnits: [], stoppedUnits: [], ...o });
  const table: ReadonlyArray<readonly [string, Partial<StateInput>, string]> = [
    ["not booted", { bootedAtMs: undefined }, "offline"],
    ["within the settle time", { nowMs: 1399 }, "starting"],
    ["settled", {}, "running"],
    ["the degraded fault is set", { degradedFault: true }, "degraded"],
    ["a unit fails", { units: ["x.service"], failingUnits: ["x.service"] }, "degraded"],
    ["the degraded fault is set but the settle time has not passed", { degradedFault: true, nowMs: 1200 }, "starting"],
  ];
  for (const [what, input, expected] of table) {
    it(`is ${expected} when ${what}`, () => assert.equal(systemState(s(input)), expected));
  }

  it("reports unit states and the fault's unit", () => {
    assert.deepEqual(failedUnits(s({ degradedFault: true })), [DEGRADED_FAULT_UNIT]);
    assert.equal(unitState(s({}), "sshd"), "active");
    assert.equal(unitState(s({}), "nope.service"), "inactive");
    assert.equal(unitState(s({ units: ["x.service"], failingUnits: ["x.service"] }), "x.service"), "failed");
    assert.equal(unitState(s({ units: ["x.service"], failingUnits: ["x.service"], nowMs: 1100 }), "x.service"), "activating");
  });

  it("a unit stopped by hand is inactive and leaves the system running; a failing one stays failed", () => {
    assert.equal(unitState(s({ stoppedUnits: ["sshd.service"] }), "sshd"), "inactive");
    assert.equal(systemState(s({ stoppedUnits: ["sshd.service"] })), "running");
    assert.equal(unitState(s({ units: ["x.service"], failingUnits: ["x.service"], stoppedUnits: ["x.service"] }), "x.service"), "failed");
  });
});

describe("sim host tools: faults.json and the initial configuration", () => {
  it("reads both shapes of faults.json and ignores unknown names", () => {
    assert.deepEqual([...parseFaults(`["degraded","nope"]`)], ["degraded"]);
    assert.deepEqual([...parseFaults(`{"faults":["build-fails"]}`)], ["build-fails"]);
    assert.throws(() => parseFaults(`{"x":1}`), /neither a list/);
  });

  it("binds broken-configuration faults to systems: a target system, or those built after the fault was set", () => {
    const scopes = parseFaultScopes(
      JSON.stringify({ faults: [], scopes: { "activation-fails": { spared: ["/nix/store/a-nixos-system-x"] }, degraded: { system: "/nix/store/b-nixos-system-x" }, nope: { system: "/x" } } }),
    );
    assert.deepEqual([...scopes.keys()].sort(), ["activation-fails", "degraded"]);
    const activation = scopes.get("activation-fails")!;
    assert.equal(breaks(activation, "/nix/store/a-nixos-system-x"), false, "a system in the store when the fault was set is spared");
    assert.equal(breaks(activation, "/nix/store/c-nixos-system-x"), true, "a system built afterwards is broken");
    const degraded = scopes.get("degraded")!;
    assert.equal(breaks(degraded, "/nix/store/b-nixos-system-x"), true);
    assert.equal(breaks(degraded, "/nix/store/c-nixos-system-x"), false, "a targeted fault breaks its system only");
    assert.equal(parseFaultScopes(`["degraded"]`).size, 0);
  });

  it("writes a fresh install's configuration with the host name and root's keys", () => {
    const files = initialConfiguration("node7", { authorizedKeys: ["ssh-ed25519 AAAA root@fleet"] });
    assert.deepEqual(Object.keys(files).sort(), ["configuration.nix", "hardware-configuration.nix"]);
    assert.match(files["configuration.nix"], /networking\.hostName = "node7";/);
    assert.match(files["configuration.nix"], /"ssh-ed25519 AAAA root@fleet"/);
    assert.match(files["configuration.nix"], /imports = \[ \.\/hardware-configuration\.nix \];/);
    assert.match(files["hardware-configuration.nix"], /fileSystems\."\/" = \{/);
    assert.equal(initialConfiguration("node7")["hardware-configuration.nix"], files["hardware-configuration.nix"]);
  });
});
