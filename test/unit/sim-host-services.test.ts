import * as assert from "node:assert/strict";
import { opensshSettings } from "../../sim/hosttools/openssh";
import { coalescedElapse, parseRunArgs, type RunRequest } from "../../sim/hosttools/systemd-run";
import { formatTimespan, parseTimespanMs } from "../../sim/hosttools/timespan";
import { unitName } from "../../sim/hosttools/transient";
import { statusText } from "../../sim/hosttools/unit-runner";
import { renderSshdConfig } from "../../sim/sshd";

describe("simulated host services: systemd-run, time spans, OpenSSH settings", function () {
  const spans: Array<[string, number | undefined]> = [
    ["30", 30_000],
    ["30s", 30_000],
    ["2min", 120_000],
    ["1h 30s", 3_630_000],
    ["250ms", 250],
    ["1.5s", 1500],
    ["", undefined],
    ["5 parsecs", undefined],
    ["-3", undefined],
  ];
  for (const [text, ms] of spans) {
    it(`reads the time span ${JSON.stringify(text)} as ${ms} ms`, function () {
      assert.equal(parseTimespanMs(text), ms);
    });
  }

  it("prints spans as systemd does", function () {
    assert.equal(formatTimespan(150_500), "2min 30s 500ms");
  });

  it("parses the guard and detached-build command lines", function () {
    const guard = parseRunArgs(["--unit=guard", "--on-active=120", "--timer-property=AccuracySec=1s", "--", "/nix/store/x/bin/switch-to-configuration", "test"]) as RunRequest;
    assert.equal(guard.unit, "guard");
    assert.equal(guard.onActiveMs, 120_000);
    assert.deepEqual(guard.timerProperties, [["AccuracySec", "1s"]]);
    assert.deepEqual(guard.command, ["/nix/store/x/bin/switch-to-configuration", "test"]);
    const build = parseRunArgs(["-u", "build", "-p", "RemainAfterExit=yes", "--collect", "sh", "-c", "nixos-rebuild boot -v"]) as RunRequest;
    assert.deepEqual([build.unit, build.collect, build.properties, build.command], ["build", true, [["RemainAfterExit", "yes"]], ["sh", "-c", "nixos-rebuild boot -v"]]);
  });

  it("stops reading options at the command, so the command's own options stay its own", function () {
    const r = parseRunArgs(["--unit=x", "ls", "-l", "--unit=y"]) as RunRequest;
    assert.deepEqual(r.command, ["ls", "-l", "--unit=y"]);
  });

  const refusals: Array<[string[], RegExp]> = [
    [["--unit=x"], /^Command line to execute required\.$/],
    [["-p", "Frobnicate=yes", "true"], /^Unknown assignment: Frobnicate=yes$/],
    [["--on-active=soon", "true"], /^Failed to parse timer value: soon$/],
    [["--scope", "true"], /not supported/],
    [["--bogus", "true"], /unrecognized option '--bogus'/],
  ];
  for (const [argv, re] of refusals) {
    it(`refuses ${argv.join(" ")}`, function () {
      const r = parseRunArgs(argv);
      assert.equal(typeof r, "string");
      assert.match(r as string, re);
    });
  }

  it("coalesces a timer's elapse inside its AccuracySec window, as late as a round mark allows", function () {
    const due = 1_000_000_123;
    for (const [accuracy, perturb] of [[60_000, 7_000], [1000, 0], [100, 0], [60_000, 59_999]] as const) {
      const at = coalescedElapse(due, accuracy, perturb);
      assert.ok(at >= due && at <= due + accuracy, `${at} is inside [${due}, ${due + accuracy}] for accuracy ${accuracy}`);
    }
    // With the default minute, a 1 s timer may fire most of a minute late.
    assert.ok(coalescedElapse(120_000 + 1000, 60_000, 30_000) - (120_000 + 1000) > 20_000);
  });

  it("names units and exit statuses as systemd does", function () {
    assert.equal(unitName("guard"), "guard.service");
    assert.equal(unitName("guard.timer"), "guard.timer");
    assert.equal(statusText("exited", 3), "3/FAILURE");
    assert.equal(statusText("exited", 0), "0/SUCCESS");
    assert.equal(statusText("killed", 15), "15/TERM");
  });

  it("reads a configuration's OpenSSH settings with NixOS's defaults", function () {
    assert.deepEqual(opensshSettings({}), { enable: false, ports: [22], permitRootLogin: "prohibit-password", rootKeys: [] });
    const config = {
      services: { openssh: { enable: true, ports: [2222, 22], settings: { PermitRootLogin: "no", MaxSessions: 2 } } },
      users: { users: { root: { openssh: { authorizedKeys: { keys: [" ssh-ed25519 AAAA a@b "] } } } } },
    };
    assert.deepEqual(opensshSettings(config), { enable: true, ports: [2222, 22], permitRootLogin: "no", rootKeys: ["ssh-ed25519 AAAA a@b"], maxSessions: 2 });
  });

  it("renders one ListenAddress per port and the configuration's PermitRootLogin and MaxSessions", function () {
    const text = renderSshdConfig({ address: "10.0.0.2", port: 22, ports: [2222, 22], permitRootLogin: "no", hostKeyPath: "/k", authorizedKeysPath: "/a", env: {} });
    assert.match(text, /^ListenAddress 10\.0\.0\.2:2222\nListenAddress 10\.0\.0\.2:22\n/);
    assert.match(text, /^PermitRootLogin no$/m);
    assert.doesNotMatch(text, /MaxSessions/, "OpenSSH's default unless the configuration sets one");
    assert.match(renderSshdConfig({ address: "a", port: 22, maxSessions: 2, hostKeyPath: "/k", authorizedKeysPath: "/a", env: {} }), /^MaxSessions 2$/m);
    assert.throws(() => renderSshdConfig({ address: "a", port: 22, permitRootLogin: "maybe", hostKeyPath: "/k", authorizedKeysPath: "/a", env: {} }), /PermitRootLogin "maybe"/);
  });
});
