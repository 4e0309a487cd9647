import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ DEFAULT_MONTHLY_MESSAGES: '1000', DEFAULT_DAILY_MESSAGES: '' });
});
afterAll(() => t.close());

const createPlan = (json: unknown) => t.request('/api/v1/plans', { method: 'POST', json });

describe('plans (happy)', () => {
  it('should expose the default plan from configuration, first in the list', async () => {
    const res = await t.request('/api/v1/plans');
    expect(res.status).toBe(200);
    const { items } = await res.json();
    expect(items[0]).toMatchObject({
      id: 'default',
      monthlyMessages: 1000,
      dailyMessages: null,
      isDefault: true,
    });
    const read = await (await t.request('/api/v1/plans/default')).json();
    expect(read.monthlyMessages).toBe(1000);
    expect(new Date(read.createdAt).toISOString()).toBe(read.createdAt);
  });

  it('should create, list, read, update and delete a plan', async () => {
    const res = await createPlan({ name: 'Pro', monthlyMessages: 5000, dailyMessages: 300 });
    expect(res.status).toBe(201);
    const plan = await res.json();
    expect(typeof plan.id).toBe('string');
    expect(plan).toMatchObject({
      name: 'Pro',
      monthlyMessages: 5000,
      dailyMessages: 300,
      isDefault: false,
      chatbotCount: 0,
    });

    const list = await (await t.request('/api/v1/plans')).json();
    expect(list.items.map((p: { id: string }) => p.id)).toContain(plan.id);
    expect((await (await t.request(`/api/v1/plans/${plan.id}`)).json()).name).toBe('Pro');

    const patched = await t.request(`/api/v1/plans/${plan.id}`, {
      method: 'PATCH',
      json: { dailyMessages: null },
    });
    expect(patched.status).toBe(200);
    const updated = await patched.json();
    // Fields not sent keep their values; null means unlimited.
    expect(updated).toMatchObject({ name: 'Pro', monthlyMessages: 5000, dailyMessages: null });

    const del = await t.request(`/api/v1/plans/${plan.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await t.request(`/api/v1/plans/${plan.id}`)).status).toBe(404);
  });

  it('should default both limits to unlimited when absent', async () => {
    const plan = await (await createPlan({ name: 'Open' })).json();
    expect(plan.monthlyMessages).toBeNull();
    expect(plan.dailyMessages).toBeNull();
  });

  it('should let chatbots reference a plan and the default plan by id', async () => {
    const plan = await (await createPlan({ name: 'Team', monthlyMessages: 10 })).json();
    const onPlan = await t.request('/api/v1/chatbots', {
      method: 'POST',
      json: { name: 'On plan', planId: plan.id },
    });
    expect(onPlan.status).toBe(201);
    expect((await onPlan.json()).planId).toBe(plan.id);
    const onDefault = await t.request('/api/v1/chatbots', {
      method: 'POST',
      json: { name: 'On default', planId: 'default' },
    });
    expect(onDefault.status).toBe(201);
    expect((await (await t.request(`/api/v1/plans/${plan.id}`)).json()).chatbotCount).toBe(1);
  });
});
