// Health, readiness and metrics.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { rmSync } from 'node:fs';
import { healthRoutes } from '../../src/http/health.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { fillDisk } from '../helpers/disk-full.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

/** Elysia records metrics after the response is handed back: let those hooks run. */
async function settle(t: TestApp, route: string) {
  for (let i = 0; i < 100 && !t.deps.metrics.render().includes(`route="${route}"`); i++) {
    await new Promise(setImmediate);
  }
}

describe('health', () => {
  it('should answer /healthz without a token', async () => {
    const res = await t.request('/healthz', { auth: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('should answer /readyz 200 with its checks and the reasons for degraded features', async () => {
    const res = await t.request('/readyz', { auth: false });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.status).toBe('ready');
    expect(body.checks).toContainEqual({ name: 'sqlite', ok: true });
    expect(body.checks).toContainEqual({ name: 'lancedb', ok: true });
    expect(body.llm).toBe('misconfigured');
    expect(body.llmReason).toBe('GROQ_API_KEY is not set');
    expect(body.warnings.join(' ')).toContain('GROQ_API_KEY');
  });

  it('should answer /readyz 503 when a feature check fails or throws', async () => {
    const own = await buildTestApp({ GROQ_API_KEY: 'gsk_test_key_0123456789' });
    try {
      own.deps.readinessChecks.push(async () => ({ name: 'crisp', ok: false, detail: 'down' }));
      own.deps.readinessChecks.push(async () => {
        throw new Error('boom');
      });
      const res = await own.request('/readyz', { auth: false });
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.status).toBe('not_ready');
      // Not started in tests (no call leaves the machine): no check has run yet.
      expect(body.llm).toBe('unknown');
      expect(body.llmReason).toBe('the first check has not finished');
      expect(body.llmCheckedAt).toBeNull();
      expect(body.checks).toContainEqual({ name: 'crisp', ok: false, detail: 'down' });
      expect(body.checks.filter((c: { ok: boolean }) => !c.ok)).toHaveLength(2);
    } finally {
      await own.close();
    }
  });

  it('should answer /readyz 503 in bounded time when a check hangs', async () => {
    const own = await buildTestApp({ GROQ_API_KEY: 'gsk_test_key_0123456789' });
    try {
      own.deps.readinessChecks.push(() => new Promise(() => {}));
      const routes = healthRoutes(own.deps, { checkTimeoutMs: 50 });
      const res = await routes.handle(new Request('http://localhost/readyz'));
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.checks).toContainEqual({
        name: 'feature',
        ok: false,
        detail: 'no answer within 50 ms',
      });
      expect(body.checks).toContainEqual({ name: 'lancedb', ok: true });
    } finally {
      await own.close();
    }
  });

  it('should answer /readyz 503 with a plain reason while SQLite cannot write, and 200 once it can', async () => {
    const own = await buildTestApp();
    try {
      const free = fillDisk(own.deps.db);
      const full = await own.request('/readyz', { auth: false });
      expect(full.status).toBe(503);
      const sqlite = (await full.json()).checks.find((c: { name: string }) => c.name === 'sqlite');
      expect(sqlite.ok).toBe(false);
      expect(sqlite.detail).toStartWith('disk full: cannot write (since ');
      free();
      const back = await own.request('/readyz', { auth: false });
      expect(back.status).toBe(200);
      expect((await back.json()).checks).toContainEqual({ name: 'sqlite', ok: true });
    } finally {
      await own.close();
    }
  });

  it('should answer 503 with the plain reason when a request cannot write (never a bare 500)', async () => {
    const own = await buildTestApp();
    try {
      const free = fillDisk(own.deps.db);
      const res = await own.request('/api/v1/chatbots', {
        method: 'POST',
        json: { name: 'Shop', instructions: 'y'.repeat(8_000) },
      });
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(body.error.message).toContain('disk full');
      free();
      const ok = await own.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Shop' } });
      expect(ok.status).toBe(201);
    } finally {
      await own.close();
    }
  });

  it('should answer /readyz 503 when SQLite is closed', async () => {
    const own = await buildTestApp();
    own.deps.db.close();
    const res = await own.request('/readyz', { auth: false });
    expect(res.status).toBe(503);
    expect((await res.json()).checks).toContainEqual({ name: 'sqlite', ok: false });
    rmSync(own.dir, { recursive: true, force: true });
  });
});

describe('metrics', () => {
  it('should require the admin token', async () => {
    for (const auth of [false, 'wrong'] as const) {
      const res = await t.request('/metrics', { auth });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('UNAUTHORIZED');
    }
  });

  it('should require the admin token with a trailing slash or a query too', async () => {
    for (const path of ['/metrics/', '/metrics//', '/metrics?format=text', '/api/v1/chatbots/']) {
      const res = await t.request(path, { auth: false });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('http_requests_total');
    }
  });

  it('should count requests by route and status, with a latency histogram and memory', async () => {
    await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Metered' } });
    await t.request('/api/v1/chatbots/cb_missing');
    await settle(t, '/api/v1/chatbots/:chatbotId');
    const res = await t.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('# TYPE http_requests_total counter');
    expect(text).toMatch(
      /http_requests_total\{method="POST",route="\/api\/v1\/chatbots",status="201"\} 1/,
    );
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/api\/v1\/chatbots\/:chatbotId",status="404"\} 1/,
    );
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{method="POST",route="\/api\/v1\/chatbots",le="\+Inf"\} 1/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/chatbots"\} 1/,
    );
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).toMatch(/process_heap_bytes \d+/);
  });

  it('should keep unmatched paths in one label (no unbounded label values)', async () => {
    await t.request('/no/such/path/1');
    await t.request('/no/such/path/2');
    await t.request('/no/such/path/3', { auth: false });
    await settle(t, '(unmatched)');
    const text = await (await t.request('/metrics')).text();
    expect(text).not.toContain('/no/such/path');
    expect(text).toContain('route="(unmatched)",status="404"');
  });
});
