import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { periodsOf, reserveMessage } from '../../src/quotas/service.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ DEFAULT_MONTHLY_MESSAGES: '100', DEFAULT_DAILY_MESSAGES: '' });
});
afterAll(() => t.close());

const newBot = async (json: Record<string, unknown>) =>
  (await (await t.request('/api/v1/chatbots', { method: 'POST', json })).json()) as { id: string };

describe('usage (happy)', () => {
  it('should report period, used, limit and remaining for the day and the month', async () => {
    // A pinned clock a moment before UTC midnight: the reservations and the route agree on the
    // periods whatever the real time is.
    const now = new Date('2026-03-31T23:59:59.900Z');
    t.clock.pin(now);
    try {
      const bot = await newBot({ name: 'Counted', quota: { dailyMessages: 5 } });
      for (let i = 0; i < 2; i++) reserveMessage(t.deps.db, bot.id, now);
      const res = await t.request(`/api/v1/chatbots/${bot.id}/usage`);
      expect(res.status).toBe(200);
      const { day, month } = periodsOf(now);
      expect(await res.json()).toEqual({
        day: { period: day, used: 2, limit: 5, remaining: 3 },
        month: { period: month, used: 2, limit: 100, remaining: 98 },
      });
      expect(day).toBe('2026-03-31');
      expect(month).toBe('2026-03');
    } finally {
      t.clock.unpin();
    }
  });

  it('should follow the plan again after a PATCH sets a limit to "plan"', async () => {
    const plan = await (
      await t.request('/api/v1/plans', {
        method: 'POST',
        json: { name: 'Forty a day', monthlyMessages: 500, dailyMessages: 40 },
      })
    ).json();
    const bot = await newBot({
      name: 'Overridden',
      planId: plan.id,
      quota: { monthlyMessages: null, dailyMessages: 5 },
    });
    const usage = async () => await (await t.request(`/api/v1/chatbots/${bot.id}/usage`)).json();
    expect((await usage()).day.limit).toBe(5);
    expect((await usage()).month.limit).toBeNull();

    const patch = (quota: Record<string, unknown>) =>
      t.request(`/api/v1/chatbots/${bot.id}`, { method: 'PATCH', json: { quota } });
    const res = await patch({ dailyMessages: 'plan' });
    expect(res.status).toBe(200);
    const patched = await res.json();
    // The chatbot shows the limit that applies now (the plan's) and that it follows the plan.
    expect(patched.quota.dailyMessages).toBe(40);
    expect(patched.quota.followsPlan).toEqual(['dailyMessages']);
    // The other override and the burst settings are untouched.
    expect(patched.quota.monthlyMessages).toBeNull();
    expect(patched.quota.burstMessages).toBe(10);
    expect((await usage()).day.limit).toBe(40);
    expect((await usage()).month.limit).toBeNull();

    expect((await patch({ monthlyMessages: 'plan' })).status).toBe(200);
    expect((await usage()).month.limit).toBe(500);
    const stored = await (await t.request(`/api/v1/chatbots/${bot.id}`)).json();
    expect(stored.quota).toMatchObject({ monthlyMessages: 500, dailyMessages: 40 });
    expect(stored.quota.followsPlan).toEqual(['monthlyMessages', 'dailyMessages']);

    // A limit can be set again afterwards, and "plan" on a chatbot without one changes nothing.
    expect((await patch({ dailyMessages: 7 })).status).toBe(200);
    expect((await usage()).day.limit).toBe(7);
    const created = await newBot({ name: 'Plan from the start', quota: { dailyMessages: 'plan' } });
    const createdQuota = (await (await t.request(`/api/v1/chatbots/${created.id}`)).json()).quota;
    expect(createdQuota.followsPlan).toContain('dailyMessages');
    expect(createdQuota.dailyMessages).toBeNull();
  });

  it('should answer 422 for another string as a limit, without echoing it', async () => {
    const bot = await newBot({ name: 'Strict limits' });
    const res = await t.request(`/api/v1/chatbots/${bot.id}`, {
      method: 'PATCH',
      json: { quota: { dailyMessages: 'plan-SECRET-VALUE' } },
    });
    expect(res.status).toBe(422);
    const text = await res.text();
    expect(text).toContain('quota.dailyMessages');
    expect(text).not.toContain('SECRET-VALUE');
  });

  it('should follow the chatbot plan and show unlimited windows as null', async () => {
    const plan = await (
      await t.request('/api/v1/plans', {
        method: 'POST',
        json: { name: 'Unlimited month', monthlyMessages: null, dailyMessages: 40 },
      })
    ).json();
    const bot = await newBot({ name: 'On a plan', planId: plan.id });
    const usage = await (await t.request(`/api/v1/chatbots/${bot.id}/usage`)).json();
    expect(usage.day).toMatchObject({ used: 0, limit: 40, remaining: 40 });
    expect(usage.month).toMatchObject({ used: 0, limit: null, remaining: null });
  });
});

describe('usage (errors)', () => {
  it('should answer 404 for an unknown chatbot', async () => {
    const res = await t.request('/api/v1/chatbots/cb_missing/usage');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('NOT_FOUND');
  });
});

describe('usage (auth)', () => {
  it('should answer 401 without a token or with a wrong one', async () => {
    const bot = await newBot({ name: 'Private' });
    for (const auth of [false, 'wrong-token'] as const) {
      const res = await t.request(`/api/v1/chatbots/${bot.id}/usage`, { auth });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('UNAUTHORIZED');
    }
  });
});
