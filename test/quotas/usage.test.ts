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
    const bot = await newBot({ name: 'Counted', quota: { dailyMessages: 5 } });
    for (let i = 0; i < 2; i++) reserveMessage(t.deps.db, bot.id);
    const res = await t.request(`/api/v1/chatbots/${bot.id}/usage`);
    expect(res.status).toBe(200);
    const { day, month } = periodsOf(new Date());
    expect(await res.json()).toEqual({
      day: { period: day, used: 2, limit: 5, remaining: 3 },
      month: { period: month, used: 2, limit: 100, remaining: 98 },
    });
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
