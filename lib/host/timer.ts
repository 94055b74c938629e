/**
 * Node holds a timer delay in a signed 32-bit number of milliseconds: a longer delay (about
 * 24.8 days and up) fires after 1 ms, with only a warning. Every deadline a timer arms goes
 * through timerDelay, so a long timeout waits as long as a timer can instead of not at all.
 */

/** The longest delay a Node timer keeps, in milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a delay a Node timer keeps: at least 1 ms, at most MAX_TIMER_MS. */
export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return 1;
  return Math.min(Math.max(1, ms), MAX_TIMER_MS);
}
