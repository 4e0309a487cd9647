import { afterEach, describe, expect, it } from 'bun:test';
import { updateChatbot } from '../../src/chatbots/service.ts';
import {
  effectiveLimits,
  getUsage,
  periodsOf,
  quotaHook,
  type Reservation,
  release,
  reserveMessage,
} from '../../src/quotas/service.ts';
import { openDatabase } from '../../src/storage/sqlite/db.ts';
import { quotaDb } from './helpers.ts';

const NOW = new Date('2026-11-26T10:00:00.000Z');
let q: ReturnType<typeof quotaDb>;
afterEach(() => q.close());

describe('effectiveLimits', () => {
  it('should take the chatbot override, else its plan, else the default plan', () => {
    q = quotaDb({ monthly: 1000, daily: 50 });
    const plan = q.plan(500, null);
    expect(effectiveLimits(q.db, q.bot())).toEqual({
      planId: 'default',
      monthlyMessages: 1000,
      dailyMessages: 50,
    });
    expect(effectiveLimits(q.db, q.bot({}, 'default')).monthlyMessages).toBe(1000);
    expect(effectiveLimits(q.db, q.bot({}, plan))).toEqual({
      planId: plan,
      monthlyMessages: 500,
      dailyMessages: null,
    });
    // A number overrides, null overrides with unlimited, absent follows the plan.
    expect(effectiveLimits(q.db, q.bot({ monthlyMessages: 7, dailyMessages: null }, plan))).toEqual(
      { planId: plan, monthlyMessages: 7, dailyMessages: null },
    );
    expect(effectiveLimits(q.db, q.bot({ dailyMessages: 3 }))).toEqual({
      planId: 'default',
      monthlyMessages: 1000,
      dailyMessages: 3,
    });
  });

  it('should throw NOT_FOUND for an unknown chatbot', () => {
    q = quotaDb();
    expect(() => reserveMessage(q.db, 'cb_missing', NOW)).toThrow('Chatbot not found');
  });
});

describe('reserveMessage', () => {
  it('should allow exactly the daily limit and then name the day window', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 3 });
    const results = Array.from({ length: 5 }, () => reserveMessage(q.db, bot, NOW));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results[4]).toEqual({ ok: false, window: 'day', limit: 3 });
    // The refused attempts counted nowhere, not even in the unlimited month.
    expect(getUsage(q.db, bot, NOW).month.used).toBe(3);
  });

  it('should start a new day at UTC midnight but keep counting the month', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 1, monthlyMessages: 2 });
    expect(reserveMessage(q.db, bot, new Date('2026-11-26T23:59:59.999Z')).ok).toBe(true);
    expect(reserveMessage(q.db, bot, new Date('2026-11-26T23:59:59.999Z')).ok).toBe(false);
    expect(reserveMessage(q.db, bot, new Date('2026-11-27T00:00:00.000Z')).ok).toBe(true);
    expect(reserveMessage(q.db, bot, new Date('2026-11-28T00:00:00.000Z'))).toEqual({
      ok: false,
      window: 'month',
      limit: 2,
    });
    expect(reserveMessage(q.db, bot, new Date('2026-12-01T00:00:00.000Z')).ok).toBe(true);
  });

  it('should report the month when both windows are full', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 1, monthlyMessages: 1 });
    reserveMessage(q.db, bot, NOW);
    expect(reserveMessage(q.db, bot, NOW)).toEqual({ ok: false, window: 'month', limit: 1 });
  });

  it('should refuse everything with a zero limit and count nothing', () => {
    q = quotaDb({ monthly: 0 });
    const bot = q.bot();
    expect(reserveMessage(q.db, bot, NOW)).toEqual({ ok: false, window: 'month', limit: 0 });
    expect(getUsage(q.db, bot, NOW).day.used).toBe(0);
  });

  it('should count unlimited windows so usage shows them', () => {
    q = quotaDb();
    const bot = q.bot();
    for (let i = 0; i < 4; i++) expect(reserveMessage(q.db, bot, NOW).ok).toBe(true);
    expect(getUsage(q.db, bot, NOW)).toEqual({
      day: { period: '2026-11-26', used: 4, limit: null, remaining: null },
      month: { period: '2026-11', used: 4, limit: null, remaining: null },
    });
  });

  it('should apply a lowered limit to what was already used this period', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 10 });
    for (let i = 0; i < 5; i++) reserveMessage(q.db, bot, NOW);
    updateChatbot(q.db, bot, { quota: { dailyMessages: 2 } });
    expect(reserveMessage(q.db, bot, NOW)).toEqual({ ok: false, window: 'day', limit: 2 });
    expect(getUsage(q.db, bot, NOW).day).toEqual({
      period: '2026-11-26',
      used: 5,
      limit: 2,
      remaining: 0,
    });
  });

  it('should stay exact after the database is closed and reopened', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 3 });
    reserveMessage(q.db, bot, NOW);
    reserveMessage(q.db, bot, NOW);
    q.db.close();
    const reopened = openDatabase(q.file);
    try {
      expect(getUsage(reopened, bot, NOW).day.used).toBe(2);
      expect(reserveMessage(reopened, bot, NOW).ok).toBe(true);
      expect(reserveMessage(reopened, bot, NOW).ok).toBe(false);
    } finally {
      reopened.close();
      q.db = openDatabase(q.file);
    }
  });
});

describe('release', () => {
  it('should give a reservation back once, however often it is called', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 1 });
    const first = reserveMessage(q.db, bot, NOW);
    if (!first.ok) throw new Error('expected a reservation');
    expect(reserveMessage(q.db, bot, NOW).ok).toBe(false);
    expect(release(q.db, first.reservation)).toBe(true);
    expect(release(q.db, first.reservation)).toBe(false);
    expect(getUsage(q.db, bot, NOW).day.used).toBe(0);
    expect(getUsage(q.db, bot, NOW).month.used).toBe(0);
    expect(reserveMessage(q.db, bot, NOW).ok).toBe(true);
  });

  it('should give back to the periods it was taken from, after a day rolls over', () => {
    q = quotaDb();
    const bot = q.bot();
    const before = reserveMessage(q.db, bot, new Date('2026-11-30T23:59:00.000Z'));
    reserveMessage(q.db, bot, new Date('2026-12-01T00:01:00.000Z'));
    if (!before.ok) throw new Error('expected a reservation');
    release(q.db, before.reservation);
    expect(getUsage(q.db, bot, new Date('2026-11-30T12:00:00.000Z')).day.used).toBe(0);
    expect(getUsage(q.db, bot, new Date('2026-11-30T12:00:00.000Z')).month.used).toBe(0);
    expect(getUsage(q.db, bot, new Date('2026-12-01T12:00:00.000Z')).day.used).toBe(1);
  });

  it('should work from a reservation that went through JSON and a restart', () => {
    q = quotaDb();
    const bot = q.bot();
    const r = reserveMessage(q.db, bot, NOW);
    if (!r.ok) throw new Error('expected a reservation');
    const stored = JSON.stringify(r.reservation);
    q.db.close();
    q.db = openDatabase(q.file);
    expect(release(q.db, JSON.parse(stored))).toBe(true);
    expect(getUsage(q.db, bot, NOW).day.used).toBe(0);
  });

  it('should never take a counter below zero', () => {
    q = quotaDb();
    const bot = q.bot();
    const r = reserveMessage(q.db, bot, NOW);
    if (!r.ok) throw new Error('expected a reservation');
    // Someone reset the counters by hand meanwhile.
    q.db.query('UPDATE usage_counters SET used = 0').run();
    expect(release(q.db, r.reservation)).toBe(true);
    expect(getUsage(q.db, bot, NOW).day.used).toBe(0);
  });

  it('should ignore a reservation of another chatbot', () => {
    q = quotaDb();
    const a = q.bot();
    const b = q.bot();
    const r = reserveMessage(q.db, a, NOW);
    if (!r.ok) throw new Error('expected a reservation');
    expect(release(q.db, { ...r.reservation, chatbotId: b })).toBe(false);
    expect(getUsage(q.db, a, NOW).day.used).toBe(1);
  });

  it('should drop counters and reservations with their chatbot', () => {
    q = quotaDb();
    const bot = q.bot();
    reserveMessage(q.db, bot, NOW);
    q.db.query('DELETE FROM chatbots WHERE id = ?').run(bot);
    const left = (table: string) =>
      q.db.query<{ n: number }, []>(`SELECT COUNT(*) AS n FROM ${table}`).get()?.n;
    expect(left('usage_counters')).toBe(0);
    expect(left('quota_reservations')).toBe(0);
  });
});

describe('quotaHook', () => {
  it('should reserve once per turn and release what it holds', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 1 });
    const turn = quotaHook(q.db, bot, { now: () => NOW.getTime() });
    expect(turn.reserve()).toBe(true);
    expect(turn.reserve()).toBe(true);
    expect(getUsage(q.db, bot, NOW).day.used).toBe(1);
    turn.release();
    turn.release();
    expect(turn.reservation).toBeNull();
    expect(getUsage(q.db, bot, NOW).day.used).toBe(0);

    quotaHook(q.db, bot, { now: () => NOW.getTime() }).reserve();
    const late = quotaHook(q.db, bot, { now: () => NOW.getTime() });
    expect(late.reserve()).toBe(false);
    expect(late.denied).toEqual({ window: 'day', limit: 1 });
  });

  it('should keep the reservation with the keeper, and resume from the one it kept', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 5 });
    const clock = { now: () => NOW.getTime() };
    let kept = null as Reservation | null;
    const keeper = () => ({
      held: kept,
      keep: (r: Reservation | null) => {
        kept = r;
      },
    });
    const first = quotaHook(q.db, bot, clock, keeper());
    expect(first.reserve()).toBe(true);
    expect(kept).toEqual(first.reservation);
    // A resumed turn (a new hook from what was kept) holds the same reservation: no second count.
    const resumed = quotaHook(q.db, bot, clock, keeper());
    expect(resumed.reserve()).toBe(true);
    expect(resumed.reservation).toEqual(first.reservation);
    expect(getUsage(q.db, bot, NOW).day.used).toBe(1);
    resumed.release();
    expect(kept).toBeNull();
    expect(getUsage(q.db, bot, NOW).day.used).toBe(0);
  });

  it('should move the counter and the kept reservation together (a failing keep undoes both)', () => {
    q = quotaDb();
    const bot = q.bot({ dailyMessages: 5 });
    const clock = { now: () => NOW.getTime() };
    const failing = {
      held: null,
      keep: () => {
        throw new Error('simulated crash');
      },
    };
    expect(() => quotaHook(q.db, bot, clock, failing).reserve()).toThrow('simulated crash');
    expect(getUsage(q.db, bot, NOW).day.used).toBe(0);

    const held = quotaHook(q.db, bot, clock);
    held.reserve();
    const forgetting = { held: held.reservation, keep: failing.keep };
    const hook = quotaHook(q.db, bot, clock, forgetting);
    expect(() => hook.release()).toThrow('simulated crash');
    // Not given back: the reservation is still held, by the turn and by the counter.
    expect(hook.reservation).toEqual(held.reservation);
    expect(getUsage(q.db, bot, NOW).day.used).toBe(1);
  });
});

describe('periodsOf', () => {
  it('should use UTC dates', () => {
    expect(periodsOf(new Date('2026-01-01T00:30:00+02:00'))).toEqual({
      day: '2025-12-31',
      month: '2025-12',
    });
  });
});
