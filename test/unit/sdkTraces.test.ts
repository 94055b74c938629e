import * as assert from "node:assert/strict";
import { skipPromiseTraces } from "../../providers/sdkTraces";

/** The SDK's module that records a trace per promise (internal: not in its typings). */
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
  debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T>;
  debugPromiseLeaks: boolean;
};

/** Makes a promise the way the SDK does, through the module's exports, and returns the trace it kept. */
function recordedTrace(): string {
  const p = Promise.resolve(1);
  void debuggable.debuggablePromise(p, "a test promise");
  return (p as unknown as { _debugStackTrace: string })._debugStackTrace;
}

/** What the SDK's recorder does: keeps the trace of where the promise was made. */
function sdkLikeRecorder<T>(p: Promise<T>, _ctx: unknown): Promise<T> {
  Object.defineProperty(p, "_debugStackTrace", { writable: true, value: new Error().stack });
  return p.then((v) => v);
}

describe("the SDK's promise traces", () => {
  let undo: () => void = () => undefined;
  afterEach(() => undo());

  it("records the SDK's promises without a stack trace, and restores the trace limit at once", () => {
    const limit = Error.stackTraceLimit;
    undo = skipPromiseTraces();
    assert.equal(recordedTrace(), "Error");
    assert.equal(Error.stackTraceLimit, limit);
    const own = { debuggablePromise: sdkLikeRecorder, debugPromiseLeaks: false };
    const p = Promise.resolve();
    skipPromiseTraces(own);
    void own.debuggablePromise(p, "x");
    assert.equal((p as unknown as { _debugStackTrace: string })._debugStackTrace, "Error");
  });

  it("keeps every other error's trace, also one made where the SDK makes a promise", async () => {
    undo = skipPromiseTraces();
    let inner: Error | undefined;
    const p = debuggable.debuggablePromise(
      new Promise<void>((resolve) => {
        inner = new Error("made in the promise's executor");
        resolve();
      }),
      "x",
    );
    const after = await p.then(() => new Error("made once it settled"));
    for (const e of [inner!, after, new Error("a user's error")]) assert.match(e.stack ?? "", /\n {4}at .*sdkTraces\.test\.(js|ts)/, e.message);
  });

  it("leaves the traces to the SDK when promise leaks are being debugged, and puts its recorder back", () => {
    const leaks = { debuggablePromise: sdkLikeRecorder, debugPromiseLeaks: true };
    skipPromiseTraces(leaks);
    assert.equal(leaks.debuggablePromise, sdkLikeRecorder);
    const p = Promise.resolve();
    void leaks.debuggablePromise(p, "x");
    assert.match((p as unknown as { _debugStackTrace: string })._debugStackTrace, /\n {4}at /);
    const own = { debuggablePromise: sdkLikeRecorder, debugPromiseLeaks: false };
    const back = skipPromiseTraces(own);
    assert.notEqual(own.debuggablePromise, sdkLikeRecorder);
    back();
    assert.equal(own.debuggablePromise, sdkLikeRecorder);
    const before = debuggable.debuggablePromise;
    skipPromiseTraces()();
    assert.equal(debuggable.debuggablePromise, before);
  });
});
