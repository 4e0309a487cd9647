import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { itRequiresTheAdminToken } from '../helpers/auth.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('plans (auth)', () => {
  itRequiresTheAdminToken(
    () => t,
    [
      ['POST', '/api/v1/plans'],
      ['GET', '/api/v1/plans'],
      ['GET', '/api/v1/plans/default'],
      ['PATCH', '/api/v1/plans/default'],
      ['DELETE', '/api/v1/plans/default'],
    ],
  );

  it('should create nothing for an unauthenticated POST', async () => {
    await t.request('/api/v1/plans', { method: 'POST', auth: false, json: { name: 'Sneaky' } });
    const { items } = await (await t.request('/api/v1/plans')).json();
    expect(items.map((p: { name: string }) => p.name)).not.toContain('Sneaky');
  });
});
