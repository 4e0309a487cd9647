import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const createPlan = (json: unknown) => t.request('/api/v1/plans', { method: 'POST', json });

describe('plans (errors)', () => {
  it('should answer 422 naming the fields but not echoing their values', async () => {
    const res = await createPlan({ name: '', monthlyMessages: 'SECRET-VALUE-123' });
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.message).toContain('monthlyMessages');
    expect(body.error.message).toContain('name');
    expect(JSON.stringify(body)).not.toContain('SECRET-VALUE-123');
  });

  it('should answer 422 for negative or fractional limits and unknown fields', async () => {
    expect((await createPlan({ name: 'A', dailyMessages: -1 })).status).toBe(422);
    expect((await createPlan({ name: 'A', dailyMessages: 1.5 })).status).toBe(422);
    expect((await createPlan({ name: 'A', burst: 3 })).status).toBe(422);
    const plan = await (await createPlan({ name: 'Valid' })).json();
    const patch = await t.request(`/api/v1/plans/${plan.id}`, {
      method: 'PATCH',
      json: { monthlyMessages: 'many' },
    });
    expect(patch.status).toBe(422);
  });

  it('should answer 409 for a duplicate name, on create and on rename', async () => {
    expect((await createPlan({ name: 'Basic' })).status).toBe(201);
    const again = await createPlan({ name: 'basic' });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe('CONFLICT');
    const other = await (await createPlan({ name: 'Premium' })).json();
    const rename = await t.request(`/api/v1/plans/${other.id}`, {
      method: 'PATCH',
      json: { name: 'Basic' },
    });
    expect(rename.status).toBe(409);
    // The default plan's name is taken too.
    expect((await createPlan({ name: 'Default' })).status).toBe(409);
  });

  it('should answer 404 for an unknown plan', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const res = await t.request('/api/v1/plans/plan_missing', {
        method,
        json: method === 'PATCH' ? { name: 'x' } : undefined,
      });
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('NOT_FOUND');
    }
  });

  it('should answer 409 when deleting a plan that chatbots use, and keep it', async () => {
    const plan = await (await createPlan({ name: 'Used', monthlyMessages: 5 })).json();
    const bot = await (
      await t.request('/api/v1/chatbots', {
        method: 'POST',
        json: { name: 'User of plan', planId: plan.id },
      })
    ).json();
    const del = await t.request(`/api/v1/plans/${plan.id}`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    const body = await del.json();
    expect(body.error.code).toBe('CONFLICT');
    expect(body.error.message).toContain('1 chatbot');
    expect((await t.request(`/api/v1/plans/${plan.id}`)).status).toBe(200);

    // Once the chatbot moves away, the plan can go.
    await t.request(`/api/v1/chatbots/${bot.id}`, { method: 'PATCH', json: { planId: null } });
    expect((await t.request(`/api/v1/plans/${plan.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('should refuse to change or delete the default plan with 409', async () => {
    const patch = await t.request('/api/v1/plans/default', {
      method: 'PATCH',
      json: { monthlyMessages: 1 },
    });
    expect(patch.status).toBe(409);
    expect((await patch.json()).error.message).toContain('DEFAULT_MONTHLY_MESSAGES');
    const del = await t.request('/api/v1/plans/default', { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect((await t.request('/api/v1/plans/default')).status).toBe(200);
  });

  it('should answer 422 when a chatbot names a plan that does not exist', async () => {
    const res = await t.request('/api/v1/chatbots', {
      method: 'POST',
      json: { name: 'Orphan', planId: 'plan_missing' },
    });
    expect(res.status).toBe(422);
  });
});
