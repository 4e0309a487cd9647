import { afterEach, describe, expect, it } from 'bun:test';
import { checkBurst } from '../../src/quotas/service.ts';
import { openDatabase } from '../../src/storage/sqlite/db.ts';
import { quotaDb } from './helpers.ts';

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, seconds));
const LIMIT = { messages: 3, windowSeconds: 60 };
let q: ReturnType<typeof quotaDb>;
afterEach(() => q.close());

describe('checkBurst', () => {
  it('should allow N turns per conversation in the window, then say when the next one is', () => {
    q = quotaDb();
    const bot = q.bot();
    expect(checkBurst(q.db, bot, 'conv', at(0), LIMIT)).toEqual({ ok: true });
    expect(checkBurst(q.db, bot, 'conv', at(10), LIMIT)).toEqual({ ok: true });
    expect(checkBurst(q.db, bot, 'conv', at(20), LIMIT)).toEqual({ ok: true });
    // The oldest turn (t=0) leaves the window at t=60.
    expect(checkBurst(q.db, bot, 'conv', at(30), LIMIT)).toEqual({
      ok: false,
      retryAfterMs: 30_000,
    });
    expect(checkBurst(q.db, bot, 'conv', at(59), LIMIT)).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(checkBurst(q.db, bot, 'conv', at(60), LIMIT)).toEqual({ ok: true });
    // Refused turns were not recorded: the window slides past t=10 and t=20 only.
    expect(checkBurst(q.db, bot, 'conv', at(61), LIMIT)).toEqual({ ok: false, retryAfterMs: 9000 });
  });

  it('should keep conversations and chatbots apart', () => {
    q = quotaDb();
    const a = q.bot();
    const b = q.bot();
    for (let i = 0; i < 3; i++) checkBurst(q.db, a, 'conv', at(0), LIMIT);
    expect(checkBurst(q.db, a, 'conv', at(1), LIMIT).ok).toBe(false);
    expect(checkBurst(q.db, a, 'other', at(1), LIMIT).ok).toBe(true);
    expect(checkBurst(q.db, b, 'conv', at(1), LIMIT).ok).toBe(true);
  });

  it('should remember the window across a restart', () => {
    q = quotaDb();
    const bot = q.bot();
    for (let i = 0; i < 3; i++) checkBurst(q.db, bot, 'conv', at(i), LIMIT);
    q.db.close();
    q.db = openDatabase(q.file);
    expect(checkBurst(q.db, bot, 'conv', at(5), LIMIT)).toEqual({
      ok: false,
      retryAfterMs: 55_000,
    });
  });

  it('should wait for enough turns to expire when the limit was lowered', () => {
    q = quotaDb();
    const bot = q.bot();
    for (let i = 0; i < 3; i++) checkBurst(q.db, bot, 'conv', at(i * 10), LIMIT);
    // Three turns at 0, 10, 20 and a limit of 1: all but one must leave, so wait for t=20's.
    expect(checkBurst(q.db, bot, 'conv', at(30), { messages: 1, windowSeconds: 60 })).toEqual({
      ok: false,
      retryAfterMs: 50_000,
    });
  });
});
