// Business hours: the schema of the `businessHours` setting and the one question asked of it,
// "is this instant inside them?", answered on the wall clock of the IANA zone (Intl), so daylight
// saving changes move the hours with the local clock.
import * as v from 'valibot';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Minutes since local midnight of `HH:MM` (24-hour; `24:00` = 1440, the end of the day). */
export const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

const START = v.pipe(
  v.string(),
  v.regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time HH:MM (00:00–23:59)'),
);
const END = v.pipe(
  v.string(),
  v.regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'a time HH:MM (00:01–24:00)'),
);

/** `["09:00", "18:00"]`: from the start (included) to the end (excluded), within one day. */
const Range = v.pipe(
  v.tuple([START, END]),
  v.check(([start, end]) => minutesOf(start) < minutesOf(end), 'a range ends after it starts'),
);

const Ranges = v.pipe(v.array(Range), v.maxLength(24, 'at most 24 ranges a day'));

/** A date's calendar day, `YYYY-MM-DD`, that exists (no 2026-02-30). */
const IsoDate = v.pipe(
  v.string(),
  v.regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD'),
  v.check((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, 'a date that exists'),
);

/** An IANA time zone name Intl knows (`Europe/Paris`, `UTC`). */
const TimeZone = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(64),
  v.check((zone) => formatterOf(zone) !== null, 'an IANA time zone, e.g. "Europe/Paris"'),
);

export const BusinessHours = v.strictObject({
  timeZone: TimeZone,
  /** Each day's opening ranges; a day left out (or `[]`) is closed. */
  weekly: v.strictObject(
    Object.fromEntries(WEEKDAYS.map((day) => [day, v.optional(Ranges, [])])) as Record<
      Weekday,
      v.OptionalSchema<typeof Ranges, []>
    >,
  ),
  /** Dates whose ranges replace the weekday's (`[]` = closed that day: a public holiday). */
  exceptions: v.optional(
    v.pipe(
      v.array(v.strictObject({ date: IsoDate, ranges: Ranges })),
      v.maxLength(400, 'at most 400 exceptions'),
      v.check(
        (list) => new Set(list.map((e) => e.date)).size === list.length,
        'one exception per date',
      ),
    ),
    [],
  ),
});
export type BusinessHours = v.InferOutput<typeof BusinessHours>;

/** One formatter per zone (building one is the costly part); null for a zone Intl refuses. */
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatterOf(timeZone: string): Intl.DateTimeFormat | null {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        weekday: 'short',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
      });
    } catch {
      formatter = null;
    }
    // Zones come from validated settings: a handful; the bound only guards against misuse.
    if (formatters.size >= 1_000) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall clock in `timeZone` at `at`: its date, weekday and minutes since midnight. */
export function localTime(timeZone: string, at: Date) {
  const formatter = formatterOf(timeZone);
  if (!formatter) throw new Error(`unknown time zone ${timeZone}`);
  const part: Record<string, string> = {};
  for (const p of formatter.formatToParts(at)) part[p.type] = p.value;
  return {
    date: `${part.year}-${part.month}-${part.day}`,
    weekday: part.weekday!.toLowerCase() as Weekday,
    minutes: Number(part.hour) * 60 + Number(part.minute),
  };
}

/** True when `at` falls in the day's ranges (an exception's, else its weekday's). */
export function withinBusinessHours(hours: BusinessHours, at: Date): boolean {
  const local = localTime(hours.timeZone, at);
  const exception = hours.exceptions.find((e) => e.date === local.date);
  const ranges = exception ? exception.ranges : hours.weekly[local.weekday];
  return ranges.some(
    ([start, end]) => minutesOf(start) <= local.minutes && local.minutes < minutesOf(end),
  );
}
