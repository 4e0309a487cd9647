import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('plans (auth)', () => {
  const routes: [string, string][] = [
    ['POST', '/api/v1/plans'],
    ['GET', '/api/v1/plans'],
    ['GET', '/api/v1/plans/default'],
    ['PATCH', '/api/v1/plans/default'],
    ['DELETE', '/api/v1/plans/default'],
  ];
  for (const [method, path] of routes) {
    it(`should answer 401 to ${method} ${path} without a token or with a wrong one`, async () => {
      for (const auth of [false, 'wrong-token'] as const) {
        const res = await t.request(path, {
          method,
          auth,
          json: method === 'GET' || method === 'DELETE' ? undefined : { name: 'x' },
        });
        expect(res.status).toBe(401);
        expect((await res.json()).error.code).toBe('UNAUTHORIZED');
      }
    });
  }

  it('should create nothing for an unauthenticated POST', async () => {
    await t.request('/api/v1/plans', { method: 'POST', auth: false, json: { name: 'Sneaky' } });
    const { items } = await (await t.request('/api/v1/plans')).json();
    expect(items.map((p: { name: string }) => p.name)).not.toContain('Sneaky');
  });
});
