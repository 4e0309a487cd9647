// Intervals of the analytics: UTC days, or weeks starting Monday 00:00 UTC.
import type { Interval } from './model.ts';

const DAY_MS = 86_400_000;
export const intervalMs = (interval: Interval) => (interval === 'day' ? DAY_MS : 7 * DAY_MS);

/** The start of the interval holding `t` (ms): its UTC midnight, or the Monday of its week. */
export function intervalStart(t: number, interval: Interval): number {
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  if (interval === 'day') return day;
  const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
  return day - sinceMonday * DAY_MS;
}

/** The starts of every interval that overlaps [from, to), oldest first. */
export function intervalStarts(from: number, to: number, interval: Interval): number[] {
  const starts: number[] = [];
  for (let s = intervalStart(from, interval); s < to; s += intervalMs(interval)) starts.push(s);
  return starts;
}

/**
 * The value at percentile `p` (0–100) of `values`, by nearest rank: the smallest value with at
 * least p% of the values at or below it; null for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}
