/**
 * Deadlines for everything the rollout waits on. A wait polls at least once a second and,
 * when it gives up, says what it waited for, for how long, and what it saw last.
 */

/** A wait ran out of time. */
export class WaitTimeoutError extends Error {
  constructor(readonly what: string, readonly seconds: number, readonly lastSeen: string) {
    super(`gave up after ${formatSeconds(seconds)} waiting for ${what}${lastSeen ? ` (last seen: ${lastSeen})` : ""}`);
    this.name = "WaitTimeoutError";
  }
}

/** The clock and sleep the rollout uses; tests may speed them up. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What one probe of a wait observed. */
export type Probe<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly seen: string };

export const done = <T>(value: T): Probe<T> => ({ done: true, value });
export const notYet = (seen: string): Probe<never> => ({ done: false, seen });

/** Options of one wait. */
export interface WaitOptions {
  /** Completes "waiting for …" in messages, e.g. "srv2 to come back on a new boot". */
  readonly what: string;
  readonly timeoutSeconds: number;
  /** Between probes; at most 1000 ms. */
  readonly intervalMs?: number;
  readonly clock?: Clock;
  /** Ends the wait before its next probe with the signal's reason (its caller no longer needs the answer). */
  readonly signal?: AbortSignal;
}

/**
 * Calls `probe` until it reports done or the deadline passes. A probe that throws ends the
 * wait with that error, unless `retryErrors` says the error is expected (e.g. a host that is
 * still down refuses connections) — then its message is what was "seen".
 */
export async function waitUntil<T>(
  options: WaitOptions,
  probe: (remainingMs: number) => Promise<Probe<T>>,
  retryErrors: (error: unknown) => boolean = () => false,
): Promise<T> {
  const clock = options.clock ?? realClock;
  const interval = Math.min(options.intervalMs ?? 500, 1000);
  const deadline = clock.now() + options.timeoutSeconds * 1000;
  let lastSeen = "";
  for (;;) {
    options.signal?.throwIfAborted();
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw new WaitTimeoutError(options.what, options.timeoutSeconds, lastSeen);
    try {
      const result = await probe(remaining);
      if (result.done) return result.value;
      lastSeen = result.seen;
    } catch (error) {
      if (!retryErrors(error)) throw error;
      lastSeen = error instanceof Error ? error.message : String(error);
    }
    const left = deadline - clock.now();
    if (left <= 0) throw new WaitTimeoutError(options.what, options.timeoutSeconds, lastSeen);
    await clock.sleep(Math.min(interval, left));
  }
}

/** "90s", "5m", "1m30s". */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds * 10) / 10}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return s === 0 ? `${m}m` : `${m}m${s}s`;
}
