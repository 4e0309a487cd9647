// Interval arithmetic and percentiles of the analytics, pure.
import { describe, expect, it } from 'bun:test';
import { intervalStart, intervalStarts, percentile } from '../../src/analytics/intervals.ts';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('intervals', () => {
  it('should start days at UTC midnight and weeks on Monday', () => {
    expect(iso(intervalStart(t('2026-03-02T23:59:59.999Z'), 'day'))).toBe(
      '2026-03-02T00:00:00.000Z',
    );
    // Sunday 1 March belongs to the week of Monday 23 February; Monday 2 March starts its own.
    expect(iso(intervalStart(t('2026-03-01T23:00:00Z'), 'week'))).toBe('2026-02-23T00:00:00.000Z');
    expect(iso(intervalStart(t('2026-03-02T00:00:00Z'), 'week'))).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(intervalStart(t('2026-03-08T23:59:59Z'), 'week'))).toBe('2026-03-02T00:00:00.000Z');
  });

  it('should list every interval overlapping [from, to)', () => {
    const starts = intervalStarts(t('2026-03-01T12:00:00Z'), t('2026-03-03T00:00:00Z'), 'day');
    expect(starts.map(iso)).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z']);
    expect(
      intervalStarts(t('2026-01-01T00:00:00Z'), t('2027-01-02T00:00:00Z'), 'day'),
    ).toHaveLength(366);
  });

  it('should take nearest-rank percentiles of the values', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([7], 90)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90)).toBe(10);
  });
});
