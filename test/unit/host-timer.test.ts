import * as assert from "node:assert/strict";
import { MAX_TIMER_MS, timerDelay } from "../../lib/host/timer";

/** Arms a timer of `ms` and reports whether it fired within `withinMs`, and any warnings. */
async function fires(ms: number, withinMs: number): Promise<{ fired: boolean; warnings: string[] }> {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on("warning", onWarning);
  let fired = false;
  const timer = setTimeout(() => (fired = true), ms);
  await new Promise((resolve) => setTimeout(resolve, withinMs));
  clearTimeout(timer);
  process.off("warning", onWarning);
  return { fired, warnings };
}

describe("timer delays (lib/host/timer.ts)", () => {
  it("keeps delays inside what a Node timer holds", () => {
    assert.equal(timerDelay(1500), 1500);
    assert.equal(timerDelay(0), 1);
    assert.equal(timerDelay(-5), 1);
    assert.equal(timerDelay(NaN), 1);
    assert.equal(timerDelay(30 * 86_400_000), MAX_TIMER_MS);
    assert.equal(timerDelay(Infinity), MAX_TIMER_MS);
  });

  it("a 30-day deadline through timerDelay waits, where the raw one fires at once", async () => {
    const thirtyDays = 30 * 86_400_000;
    const raw = await fires(thirtyDays, 30);
    assert.deepEqual(raw, { fired: true, warnings: ["TimeoutOverflowWarning"] }, "Node's behaviour this guards against");
    assert.deepEqual(await fires(timerDelay(thirtyDays), 30), { fired: false, warnings: [] });
  });
});
