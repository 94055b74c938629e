import * as assert from "node:assert/strict";
import { parseBenchArgs } from "../../bench/args";
import { hostFigures, idealBudgetMs, rolloutFigures, unionLength, type RolloutRecord } from "../../bench/measure";
import { hostBreakdown } from "../../bench/report";
import { doneTimes } from "../../bench/stack";
import type { TimelineEvent, TimelineKind } from "../../sim/types";

const ev = (t: number, host: string, kind: TimelineKind): TimelineEvent => ({ t, host, kind });

/** Two hosts built and rebooted one after the other, as a one-at-a-time rollout does today. */
function serialReboot(): RolloutRecord {
  return {
    hosts: ["a", "b"],
    command: { from: 0, to: 20_000 },
    events: [
      ev(2000, "a", "ssh-session"),
      ev(2100, "a", "build-started"),
      ev(5100, "a", "build-finished"),
      ev(5200, "a", "cordon"),
      { t: 5300, host: "a", kind: "eviction", detail: { namespace: "default", pod: "web-1", result: "blocked" } },
      { t: 5400, host: "a", kind: "eviction", detail: { namespace: "default", pod: "web-1", result: "evicted" } },
      ev(5500, "a", "reboot-started"),
      ev(7500, "a", "ready"),
      ev(9000, "b", "ssh-session"),
      ev(9100, "b", "build-started"),
      ev(12_100, "b", "build-finished"),
      ev(12_500, "b", "reboot-started"),
      ev(14_500, "b", "ready"),
    ],
    doneAt: { a: 8000, b: 15_000 },
  };
}

describe("bench: figures from the timeline (bench/measure.ts)", function () {
  it("counts overlapping waits once", function () {
    assert.equal(unionLength([{ from: 0, to: 10 }, { from: 5, to: 15 }, { from: 20, to: 25 }, { from: 21, to: 22 }]), 20);
    assert.equal(unionLength([]), 0);
  });

  it("serial builds: overhead beyond builds and reboots, pipelining against max(build) + Σ activation, no speed-up", function () {
    const f = rolloutFigures(serialReboot());
    assert.equal(f.startupMs, 2000);
    assert.equal(f.wallMs, 13_000); // first host touched (2 s) → last host done (15 s)
    assert.equal(f.inherentMs, 10_000); // 2 × (3 s build + 2 s reboot)
    assert.equal(f.overheadPerNodeMs, 1500);
    assert.equal(f.maxBuildMs, 3000);
    assert.equal(f.sumActivationMs, 2900 + 2900); // build-finished → done, per host
    assert.equal(f.pipelining, 13_000 / (3000 + 5800));
    assert.equal(f.speedupOverSerial, 1); // every build lay inside its host's turn
    assert.equal(f.perHostMs, (6000 + 6000) / 2); // a: 2 s → 8 s; b: 9 s → 15 s
  });

  it("parallel builds: a host built early starts its activation when the host before it is done", function () {
    const r: RolloutRecord = {
      hosts: ["a", "b"],
      command: { from: 0, to: 12_000 },
      events: [ev(1000, "a", "build-started"), ev(1000, "b", "build-started"), ev(4000, "a", "build-finished"), ev(4000, "b", "build-finished")],
      doneAt: { a: 6000, b: 8000 },
    };
    const [a, b] = hostFigures(r);
    assert.deepEqual(a.activation, { from: 4000, to: 6000 });
    assert.deepEqual(b.activation, { from: 6000, to: 8000 });
    const f = rolloutFigures(r);
    assert.equal(f.wallMs, 7000);
    assert.equal(f.pipelining, 7000 / (3000 + 4000));
    assert.equal(f.inherentMs, 3000);
    // b's build (1–4 s) lay outside its turn (6–8 s): building it in its turn would have cost 3 s more.
    assert.equal(f.speedupOverSerial, (7000 + 3000) / 7000);
  });

  it("refuses a rollout whose change never reached a host", function () {
    const r = serialReboot();
    assert.throws(() => rolloutFigures({ ...r, events: r.events.filter((e) => e.host !== "b" || e.kind === "ssh-session") }), /no build-started\/build-finished on the timeline for b/);
    assert.throws(() => rolloutFigures({ ...r, events: [] }), /touched none of a, b/);
  });

  it("tells where each host's time went, from the first host touched", function () {
    assert.deepEqual(hostBreakdown(rolloutFigures(serialReboot())), [
      "a: touched +0.0, build +0.1…+3.1, cordon +3.2, 1 eviction refused, reboot +3.5…Ready +5.5, done +6.0",
      "b: touched +7.0, build +7.1…+10.1, reboot +10.5…Ready +12.5, done +13.0",
    ]);
  });

  it("ideal budget: ⌈N/k⌉ waves of one host's time", function () {
    assert.equal(idealBudgetMs(10, 3, 5000), 20_000);
    assert.equal(idealBudgetMs(3, 1, 5000), 15_000);
  });

  it("reads when the CLI said each host was done, ignoring other resources and the first of repeats", function () {
    const lines = [
      { t: 1, text: " ~  pulumi-nodejs:dynamic/nixos-fleet:NixosHost srv1 updating (0s)" },
      { t: 2, text: " ~  pulumi-nodejs:dynamic/nixos-fleet:NixosHost srv1 updated (5s) [diff: ~nixFiles]" },
      { t: 3, text: " +  pulumi-nodejs:dynamic/nixos-fleet:FleetBuild fleet created (2s)" },
      { t: 4, text: " +  pulumi-nodejs:dynamic/nixos-fleet:NixosHost srv2 created (7s)" },
      { t: 5, text: "    pulumi-nodejs:dynamic/nixos-fleet:NixosHost srv2 created (7s)" },
    ];
    assert.deepEqual(doneTimes(lines, ["srv1", "srv2", "srv3"]), { srv1: 2, srv2: 4 });
  });

  it("parses the command line: sizes, quick mode, build duration", function () {
    assert.deepEqual(parseBenchArgs([]), { hosts: [3, 10], budgets: [1, 2, 3], buildMs: 3000, emptyPreviews: 2, help: false });
    assert.deepEqual(parseBenchArgs(["--hosts", "3"]).hosts, [3]);
    assert.deepEqual(parseBenchArgs(["--hosts=3,5", "--build-ms", "0"]), { hosts: [3, 5], budgets: [1, 2, 3], buildMs: 0, emptyPreviews: 2, help: false });
    assert.deepEqual(parseBenchArgs(["--build-ms", "500", "--quick"]), { hosts: [3], budgets: [1, 2], buildMs: 500, emptyPreviews: 1, help: false });
    assert.throws(() => parseBenchArgs(["--hosts", "0"]), /--hosts takes whole numbers of at least 1/);
    assert.throws(() => parseBenchArgs(["5"]), /unknown argument "5"/);
  });
});
