/**
 * The Pulumi SDK records, on every promise it makes (debuggablePromise in
 * @pulumi/pulumi/runtime/debuggable.js), the stack trace of where it was made, as text. It prints
 * those traces only when PULUMI_DEBUG_PROMISE_LEAKS is set and a deployment ends with promises
 * that never settled. Capturing them is not free: V8 walks the stack, and the SDK's program
 * runner has installed source-map-support, which maps every frame through source maps. Each
 * property of a resource costs several promises: in a preview of hundreds of hosts, when a
 * NixosHost had some thirty properties, those traces were most of the program's time (README.md
 * "Fleets of hundreds").
 *
 * Unless PULUMI_DEBUG_PROMISE_LEAKS is set, this makes the SDK record an empty trace: the stack
 * trace limit is 0 for the moment the SDK's recorder runs, and only then. The recorder runs no
 * code of the program, so every error the program or the SDK throws keeps its whole, mapped
 * trace; the leak check itself (the count of promises left) is unchanged.
 */

/** The SDK module that records the traces; its functions are called through its exports. */
interface Debuggable {
  debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T>;
  readonly debugPromiseLeaks: boolean;
}

/** Runs `f` with no stack frames captured by the errors it makes. */
function withoutTraces<T>(f: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Makes the SDK's recorder skip its stack traces, unless promise leaks are being debugged or the
 * SDK no longer calls it through its exports. Returns what undoes it.
 */
export function skipPromiseTraces(debuggable: Debuggable = require("@pulumi/pulumi/runtime/debuggable") as Debuggable): () => void {
  const record = debuggable.debuggablePromise;
  const slot = Object.getOwnPropertyDescriptor(debuggable, "debuggablePromise");
  if (debuggable.debugPromiseLeaks || typeof record !== "function" || slot?.writable !== true) return () => undefined;
  const recordQuietly = <T>(p: Promise<T>, ctx: unknown): Promise<T> => withoutTraces(() => record(p, ctx));
  debuggable.debuggablePromise = recordQuietly;
  return () => {
    if (debuggable.debuggablePromise === recordQuietly) debuggable.debuggablePromise = record;
  };
}
