// Admin authentication is decided on the path the router routes: no Host header, path prefix,
// encoding or method reaches an admin route without the token, on the real server or in-process.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { type RunningServer, startServer } from '../../src/server.ts';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.ts';
import { rawRequest } from '../helpers/raw-http.ts';

let t: TestApp;
let server: RunningServer;
let chatbotId: string;

beforeAll(async () => {
  t = await buildTestApp({ PORT: '0', HOST: '127.0.0.1' });
  const created = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Shop' } });
  chatbotId = (await created.json()).id;
  server = startServer(t.deps, t.app);
});
afterAll(async () => {
  await server.stop('test');
  await t.close();
});

/** Every route of the app that is not public, with its path parameters filled in. */
function adminRoutes(): { method: string; path: string }[] {
  const open = [
    /^\/healthz$/,
    /^\/readyz$/,
    /^\/docs/,
    /^\/dashboard/,
    /^\/api\/integrations\/livechat\/crisp\//,
  ];
  return t.app.routes
    .filter((r) => r.method !== 'OPTIONS' && !open.some((re) => re.test(r.path)))
    .map((r) => ({
      method: r.method === 'ALL' ? 'GET' : r.method,
      path: r.path.replace(':chatbotId', chatbotId).replace(/:[A-Za-z]+/g, 'x1'),
    }));
}

// Hosts shorter than the 4 characters Elysia's router assumes, empty, odd, and normal ones.
const HOSTS = ['x', 'ab', 'abc', 'a:1', 'localhost', '127.0.0.1:3000', 'EXAMPLE.COM', 'a.b.c.d.e'];
const PREFIXES = ['', '/zz', '/a/b', '/api', '/healthz', '/docs', '/x/y/z/w/v'];

function variants(path: string): string[] {
  const out = [path, `${path}/`, `${path}?x=1`, path.replace('/api/', '/%61pi/')];
  out.push(path.replace(/\/v1\//, '/v1//'), path.replace('/api/v1', '/api%2Fv1'));
  out.push(`/healthz/..${path}`, `/docs/%2e%2e${path}`);
  return out;
}

describe('admin authentication (deny by default)', () => {
  it('should refuse every admin route whatever the Host header and path prefix (real server)', async () => {
    const routes = adminRoutes();
    expect(routes.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const { method, path } of routes) {
      for (const host of HOSTS) {
        for (const prefix of PREFIXES) {
          const target = `${prefix}${path}`;
          const body = method === 'GET' || method === 'DELETE' ? '' : '{"name":"x"}';
          const type = body ? '\r\nContent-Type: application/json' : '';
          const res = await rawRequest(
            server.port,
            `${method} ${target} HTTP/1.1\r\nHost: ${host}${type}`,
            body,
          );
          // A routed admin path answers 401; anything else the server may refuse (400, 401).
          if (res.status !== 401 && res.status !== 400) {
            leaks.push(`${method} ${target} Host=${host} → ${res.status}`);
          }
        }
      }
    }
    expect(leaks).toEqual([]);
  }, 60_000);

  it('should refuse admin routes in-process whatever the host, prefix, encoding or method', async () => {
    const leaks: string[] = [];
    for (const { method, path } of adminRoutes()) {
      for (const host of ['x', 'abc', 'localhost']) {
        for (const prefix of PREFIXES) {
          for (const variant of variants(path)) {
            // The route's own method, plus ones Elysia treats specially (HEAD, OPTIONS) or another.
            for (const m of new Set([
              method,
              'HEAD',
              'OPTIONS',
              method === 'POST' ? 'PUT' : 'POST',
            ])) {
              const res = await t.app.handle(
                new Request(`http://${host}${prefix}${variant}`, { method: m }),
              );
              // Unauthenticated: the only acceptable answers are 401, or a public route's own.
              if (res.status === 401) continue;
              const text = await res.text();
              if (text.includes(chatbotId) || text.includes('answerdesk_') || res.ok) {
                leaks.push(`${m} http://${host}${prefix}${variant} → ${res.status}`);
              }
            }
          }
        }
      }
    }
    expect(leaks).toEqual([]);
  }, 60_000);

  it('should route a short Host header on the real path (D1 reproduction: Host x, /zz prefix)', async () => {
    const res = await rawRequest(server.port, 'GET /zz/api/v1/chatbots HTTP/1.1\r\nHost: x');
    expect(res.status).toBe(401);
    expect(res.body).not.toContain(chatbotId);
    const plans = await rawRequest(
      server.port,
      'POST /zz/api/v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json',
      '{"name":"free","monthlyMessages":1}',
    );
    expect(plans.status).toBe(401);
    const metrics = await rawRequest(server.port, 'GET /zz/metrics HTTP/1.1\r\nHost: x');
    expect(metrics.status).toBe(401);
    // With the token, a short host still reaches the right route (not a 404).
    const ok = await rawRequest(
      server.port,
      `GET /api/v1/chatbots HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}`,
    );
    expect(ok.status).toBe(200);
    expect(ok.body).toContain(chatbotId);
    const health = await rawRequest(server.port, 'GET /healthz HTTP/1.1\r\nHost: ab');
    expect(health.status).toBe(200);
  });

  it('should answer 400 with the envelope to a request without a usable Host (HTTP/1.0, empty)', async () => {
    for (const head of [
      'GET /api/v1/chatbots HTTP/1.0',
      'GET /healthz HTTP/1.0',
      'GET /api/v1/chatbots HTTP/1.1\r\nHost: ',
      'GET /aaaaaaaaaaa/api/v1/chatbots HTTP/1.1\r\nHost: a b',
    ]) {
      const res = await rawRequest(server.port, head);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('BAD_REQUEST');
    }
  });

  it('should refuse a token that is a prefix, an extension or a case variant of the admin token', async () => {
    const wrong = [
      ADMIN_TOKEN.slice(0, -1),
      ADMIN_TOKEN.slice(0, 8),
      `${ADMIN_TOKEN}x`,
      ADMIN_TOKEN.toUpperCase(),
      ` ${ADMIN_TOKEN.replace('t', 'T')}`,
      '',
    ];
    for (const token of wrong) {
      const res = await t.request('/api/v1/chatbots', { auth: token });
      expect(res.status).toBe(401);
    }
    for (const header of [ADMIN_TOKEN, `Basic ${ADMIN_TOKEN}`, `Bearer${ADMIN_TOKEN}`]) {
      const res = await t.app.handle(
        new Request('http://localhost/api/v1/chatbots', { headers: { authorization: header } }),
      );
      expect(res.status).toBe(401);
    }
    expect((await t.request('/api/v1/chatbots')).status).toBe(200);
  });

  it('should ask for the token on unknown paths instead of telling what exists', async () => {
    for (const path of ['/nope', '/api/v2/chatbots', '/admin', '/.env']) {
      const res = await t.request(path, { auth: false });
      expect(res.status).toBe(401);
    }
    expect((await t.request('/nope')).status).toBe(404);
  });
});
