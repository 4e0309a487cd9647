// Business hours: on the wall clock of the IANA zone, across daylight saving changes, with
// exceptions and "24:00"; the schema refuses what it cannot mean.
import { describe, expect, it } from 'bun:test';
import * as v from 'valibot';
import { BusinessHours, withinBusinessHours } from '../../src/chatbots/business-hours.ts';

const weekdays = (ranges: [string, string][]) => ({
  mon: ranges,
  tue: ranges,
  wed: ranges,
  thu: ranges,
  fri: ranges,
  sat: ranges,
  sun: ranges,
});

const hours = (input: unknown) => v.parse(BusinessHours, input);
const at = (iso: string) => new Date(iso);

describe('withinBusinessHours', () => {
  const paris = hours({ timeZone: 'Europe/Paris', weekly: weekdays([['09:00', '18:00']]) });

  it('should follow the local clock across the spring daylight saving change (Paris, 2026-03-29)', () => {
    // Saturday: UTC+1, so 08:30 UTC is 09:30 local; 07:30 UTC is 08:30 local.
    expect(withinBusinessHours(paris, at('2026-03-28T08:30:00Z'))).toBe(true);
    expect(withinBusinessHours(paris, at('2026-03-28T07:30:00Z'))).toBe(false);
    // Sunday, after the change: UTC+2, so 07:30 UTC is already 09:30 local.
    expect(withinBusinessHours(paris, at('2026-03-29T07:30:00Z'))).toBe(true);
    expect(withinBusinessHours(paris, at('2026-03-29T06:30:00Z'))).toBe(false);
    // 18:00 local is 16:00 UTC now: the end is excluded.
    expect(withinBusinessHours(paris, at('2026-03-29T15:59:00Z'))).toBe(true);
    expect(withinBusinessHours(paris, at('2026-03-29T16:00:00Z'))).toBe(false);
  });

  it('should follow the local clock across the autumn change (Paris, 2026-10-25)', () => {
    // Back to UTC+1: 08:30 UTC is 09:30 local on the 25th, 10:30 local the day before.
    expect(withinBusinessHours(paris, at('2026-10-24T06:30:00Z'))).toBe(false);
    expect(withinBusinessHours(paris, at('2026-10-24T07:30:00Z'))).toBe(true);
    expect(withinBusinessHours(paris, at('2026-10-25T07:30:00Z'))).toBe(false);
    expect(withinBusinessHours(paris, at('2026-10-25T08:30:00Z'))).toBe(true);
  });

  it('should take the weekday in the zone, not in UTC', () => {
    const tokyo = hours({
      timeZone: 'Asia/Tokyo',
      weekly: { mon: [['00:00', '02:00']] },
    });
    // Sunday 16:30 UTC is Monday 01:30 in Tokyo.
    expect(withinBusinessHours(tokyo, at('2026-06-07T16:30:00Z'))).toBe(true);
    expect(withinBusinessHours(tokyo, at('2026-06-08T16:30:00Z'))).toBe(false);
  });

  it('should let an exception replace the weekday: a closed holiday, a special opening', () => {
    const withExceptions = hours({
      timeZone: 'Europe/Paris',
      weekly: weekdays([['09:00', '18:00']]),
      exceptions: [
        { date: '2026-12-25', ranges: [] },
        { date: '2026-12-24', ranges: [['09:00', '12:00']] },
      ],
    });
    expect(withinBusinessHours(withExceptions, at('2026-12-25T10:00:00Z'))).toBe(false);
    expect(withinBusinessHours(withExceptions, at('2026-12-24T10:00:00Z'))).toBe(true);
    expect(withinBusinessHours(withExceptions, at('2026-12-24T12:30:00Z'))).toBe(false);
    expect(withinBusinessHours(withExceptions, at('2026-12-26T12:30:00Z'))).toBe(true);
  });

  it('should count "24:00" as the end of the day and a missing day as closed', () => {
    const late = hours({ timeZone: 'UTC', weekly: { fri: [['20:00', '24:00']] } });
    expect(withinBusinessHours(late, at('2026-06-05T23:59:00Z'))).toBe(true);
    expect(withinBusinessHours(late, at('2026-06-06T00:00:00Z'))).toBe(false);
    expect(withinBusinessHours(late, at('2026-06-04T21:00:00Z'))).toBe(false);
  });
});

describe('BusinessHours schema', () => {
  const refused = (input: unknown) => !v.safeParse(BusinessHours, input).success;

  it('should refuse an unknown time zone, bad times, empty or reversed ranges', () => {
    expect(refused({ timeZone: 'Mars/Olympus', weekly: {} })).toBe(true);
    expect(refused({ timeZone: 'UTC', weekly: { mon: [['9:00', '18:00']] } })).toBe(true);
    expect(refused({ timeZone: 'UTC', weekly: { mon: [['24:00', '24:00']] } })).toBe(true);
    expect(refused({ timeZone: 'UTC', weekly: { mon: [['18:00', '09:00']] } })).toBe(true);
    expect(refused({ timeZone: 'UTC', weekly: { mon: [['09:00', '09:00']] } })).toBe(true);
    expect(refused({ timeZone: 'UTC', weekly: { monday: [] } })).toBe(true);
  });

  it('should refuse dates that do not exist and two exceptions for one date', () => {
    expect(
      refused({ timeZone: 'UTC', weekly: {}, exceptions: [{ date: '2026-02-30', ranges: [] }] }),
    ).toBe(true);
    expect(
      refused({
        timeZone: 'UTC',
        weekly: {},
        exceptions: [
          { date: '2026-12-25', ranges: [] },
          { date: '2026-12-25', ranges: [['09:00', '10:00']] },
        ],
      }),
    ).toBe(true);
  });

  it('should fill missing days with closed ones', () => {
    const parsed = hours({ timeZone: 'Europe/Paris', weekly: { mon: [['09:00', '18:00']] } });
    expect(parsed.weekly.sun).toEqual([]);
    expect(parsed.exceptions).toEqual([]);
  });
});
