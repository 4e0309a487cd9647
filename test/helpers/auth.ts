// Shared auth checks: every admin route answers 401 with the envelope, with no token or a wrong one.
import { expect, it } from 'bun:test';
import type { TestApp } from './app.ts';

/** Declares one test per route: 401 `UNAUTHORIZED` without a token and with a wrong one. */
export function itRequiresTheAdminToken(app: () => TestApp, routes: [string, string][]): void {
  for (const [method, path] of routes) {
    it(`should answer 401 to ${method} ${path} without a token or with a wrong one`, async () => {
      for (const auth of [false, 'wrong-token'] as const) {
        const res = await app().request(path, {
          method,
          auth,
          json: method === 'GET' || method === 'DELETE' ? undefined : { name: 'x' },
        });
        expect(res.status).toBe(401);
        expect((await res.json()).error.code).toBe('UNAUTHORIZED');
      }
    });
  }
}
