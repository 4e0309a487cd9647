// The `from`/`to` query of the routes that report over a period (insights, analytics): ISO-8601
// dates or times, the last 30 days by default, at most 366 days.
import * as v from 'valibot';
import { AppError } from '../errors.ts';

export const RANGE_DAYS_DEFAULT = 30;
const RANGE_DAYS_MAX = 366;
const DAY_MS = 86_400_000;

// A date (UTC midnight), or a date and time with its zone (`Z` or ±hh:mm): a time without a zone
// would be read in the server's time zone.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Whether `text` is such a date or time, and a real one (no 30 February). */
function isIsoTime(text: string): boolean {
  const match = ISO.exec(text);
  if (!match || Number.isNaN(Date.parse(text))) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const isoTime = v.pipe(
  v.string(),
  v.maxLength(40),
  // A `+` in a query string that was not percent-encoded arrives as a space.
  v.transform((s) => s.replace(' ', '+')),
  v.check(isIsoTime, 'an ISO-8601 date or time with its zone, e.g. 2026-01-31T00:00:00Z'),
);

export const TimeRangeQuery = v.object({
  /** Start, included (default: `to` minus 30 days). */
  from: v.optional(isoTime),
  /** End, excluded (default: now). */
  to: v.optional(isoTime),
});
export type TimeRangeQuery = v.InferOutput<typeof TimeRangeQuery>;

/** The range a query asks for, as Dates; 422 when `from` is not before `to` or it spans too long. */
export function resolveRange(query: TimeRangeQuery, now: Date): { from: Date; to: Date } {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from
    ? new Date(query.from)
    : new Date(to.getTime() - RANGE_DAYS_DEFAULT * DAY_MS);
  if (from.getTime() >= to.getTime()) {
    throw new AppError('VALIDATION_FAILED', 'from: must be before to');
  }
  if (to.getTime() - from.getTime() > RANGE_DAYS_MAX * DAY_MS) {
    throw new AppError('VALIDATION_FAILED', `from, to: at most ${RANGE_DAYS_MAX} days apart`);
  }
  return { from, to };
}
