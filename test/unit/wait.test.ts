import * as assert from "node:assert/strict";
import { done, formatSeconds, notYet, waitUntil, WaitTimeoutError } from "../../lib/rollout/wait";
import { fastClock } from "../fakes/cluster";

describe("waitUntil", () => {
  it("returns the probe's value once it is done", async () => {
    let n = 0;
    const v = await waitUntil({ what: "x", timeoutSeconds: 10, clock: fastClock() }, async () => (++n < 3 ? notYet(`n=${n}`) : done(n)));
    assert.equal(v, 3);
  });

  it("says what it waited for, how long, and what it saw last", async () => {
    const clock = fastClock();
    await assert.rejects(
      waitUntil({ what: "srv2 to come back", timeoutSeconds: 90, clock }, async () => notYet("connection refused")),
      (e: unknown) => e instanceof WaitTimeoutError && e.message === "gave up after 1m30s waiting for srv2 to come back (last seen: connection refused)",
    );
  });

  it("polls at least once a second even when asked for less often", async () => {
    const clock = fastClock();
    const times: number[] = [];
    await assert.rejects(waitUntil({ what: "x", timeoutSeconds: 5, intervalMs: 5000, clock }, async () => (times.push(clock.now()), notYet(""))));
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] <= 1000);
    assert.ok(times.length >= 5);
  });

  it("retries only the errors it is told to", async () => {
    let n = 0;
    const v = await waitUntil(
      { what: "x", timeoutSeconds: 10, clock: fastClock() },
      async () => {
        if (++n < 3) throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
        return done("up");
      },
      (e) => (e as { code?: string }).code === "ECONNREFUSED",
    );
    assert.equal(v, "up");
    await assert.rejects(
      waitUntil({ what: "x", timeoutSeconds: 10, clock: fastClock() }, async () => {
        throw new Error("key mismatch");
      }),
      /key mismatch/,
    );
  });

  it("formats durations", () => {
    assert.equal(formatSeconds(5), "5s");
    assert.equal(formatSeconds(600), "10m");
    assert.equal(formatSeconds(61), "1m1s");
  });
});
