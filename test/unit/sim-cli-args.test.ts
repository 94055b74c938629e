import * as assert from "node:assert/strict";
import { daemonArgs, parseArgs, UsageError, type UpCommand } from "../../sim/cli-args";

describe("simulated fleet: command line (sim/cli-args.ts)", function () {
  it("parses up with timings and a state folder", function () {
    assert.deepEqual(parseArgs(["up", "--hosts", "3", "--down-ms", "200", "--kubelet-ready-ms=100", "--state-dir", "/tmp/x"]), {
      kind: "up",
      stateDir: "/tmp/x",
      hosts: 3,
      timings: { downMs: 200, kubeletReadyMs: 100 },
    });
    assert.deepEqual(parseArgs(["up", "--host-names", "a,b"]), { kind: "up", stateDir: ".sim", hosts: ["a", "b"], timings: {} });
  });

  it("takes the build duration of the hosts as --build-ms and hands it to the daemon", function () {
    const up = parseArgs(["up", "--hosts", "2", "--build-ms", "4000"]);
    assert.deepEqual(up, { kind: "up", stateDir: ".sim", hosts: 2, timings: { buildMs: 4000 } });
    assert.deepEqual(daemonArgs(up as UpCommand, "/abs/.sim"), ["daemon", "--state-dir", "/abs/.sim", "--hosts", "2", "--build-ms", "4000"]);
  });

  it("parses the other commands", function () {
    assert.deepEqual(parseArgs(["down"]), { kind: "down", stateDir: ".sim" });
    assert.deepEqual(parseArgs(["status", "--json"]), { kind: "status", stateDir: ".sim", json: true });
    assert.deepEqual(parseArgs(["fault", "srv2", "never-returns"]), { kind: "fault", stateDir: ".sim", host: "srv2", fault: "never-returns", on: true });
    assert.deepEqual(parseArgs(["fault", "srv2", "degraded", "off"]), { kind: "fault", stateDir: ".sim", host: "srv2", fault: "degraded", on: false });
    assert.deepEqual(parseArgs(["fault", "srv2", "activation-fails", "on", "--system", "/nix/store/abc-nixos-system-srv2"]), {
      kind: "fault",
      stateDir: ".sim",
      host: "srv2",
      fault: "activation-fails",
      on: true,
      system: "/nix/store/abc-nixos-system-srv2",
    });
    assert.deepEqual(parseArgs(["timeline", "--host", "srv1"]), { kind: "timeline", stateDir: ".sim", host: "srv1", json: false });
    assert.deepEqual(parseArgs([]), { kind: "help" });
  });

  const bad: Array<[string[], RegExp]> = [
    [["frobnicate"], /unknown command/],
    [["up"], /needs --hosts/],
    [["up", "--hosts", "0"], /at least 1/],
    [["up", "--hosts", "2", "--down-ms", "-5"], /whole number of milliseconds/],
    [["up", "--hosts", "2", "--bogus", "1"], /unknown option --bogus/],
    [["down", "extra"], /unexpected argument/],
    [["fault", "srv1", "explodes"], /unknown fault "explodes"/],
    [["fault", "srv1", "degraded", "maybe"], /on or off/],
    [["status", "--state-dir"], /needs a value/],
  ];
  for (const [argv, re] of bad) {
    it(`rejects ${argv.join(" ") || "(nothing)"}`, function () {
      assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message));
    });
  }

  it("hands the daemon the same options it was given", function () {
    const up = parseArgs(["up", "--hosts", "2", "--slow-boot-ms", "900"]) as UpCommand;
    assert.deepEqual(parseArgs(daemonArgs(up, "/abs/.sim")), { ...up, kind: "daemon", stateDir: "/abs/.sim" });
  });
});
