/**
 * systemd time spans ("90", "5min", "1h 30s", "250ms"), as systemd-run's --on-active= and
 * properties such as TimeoutStopSec= take them. A bare number means seconds.
 */

const UNITS: ReadonlyArray<readonly [readonly string[], number]> = [
  [["usec", "us", "µs"], 0.001],
  [["msec", "ms"], 1],
  [["seconds", "second", "sec", "s", ""], 1000],
  [["minutes", "minute", "min", "m"], 60_000],
  [["hours", "hour", "hr", "h"], 3_600_000],
  [["days", "day", "d"], 86_400_000],
  [["weeks", "week", "w"], 604_800_000],
];

/** Milliseconds of a systemd time span; undefined when systemd would reject it too. */
export function parseTimespanMs(text: string): number | undefined {
  const s = text.trim();
  if (s === "infinity") return Number.POSITIVE_INFINITY;
  if (s === "") return undefined;
  let total = 0;
  const re = /\s*(\d+(?:\.\d+)?)\s*([a-zµ]*)/gy;
  let consumed = 0;
  for (let m = re.exec(s); m !== null && m[0] !== ""; m = re.exec(s)) {
    const factor = UNITS.find(([names]) => names.includes(m![2]))?.[1];
    if (factor === undefined) return undefined;
    total += Number(m[1]) * factor;
    consumed = re.lastIndex;
  }
  return consumed === s.length ? Math.round(total) : undefined;
}

/** A span as systemd prints it in messages ("2min 30s", "500ms"). */
export function formatTimespan(ms: number): string {
  if (!Number.isFinite(ms)) return "infinity";
  const parts: string[] = [];
  let left = Math.round(ms);
  for (const [name, size] of [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000], ["s", 1000], ["ms", 1]] as const) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)}${name}`);
      left %= size;
    }
  }
  return parts.length > 0 ? parts.join(" ") : "0";
}
