import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { HttpCrispClient } from '../../src/crisp/client.ts';
import { VERSION } from '../../src/version.ts';

/** A Crisp-compatible server whose answers each test sets per path. */
let server: ReturnType<typeof Bun.serve>;
let routes: Record<string, () => Response> = {};
const seen: string[] = [];
const queries: string[] = [];
const agents: (string | null)[] = [];

beforeAll(() => {
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const { pathname, search } = new URL(req.url);
      seen.push(`${req.method} ${pathname}`);
      queries.push(search);
      agents.push(req.headers.get('user-agent'));
      return routes[`${req.method} ${pathname}`]?.() ?? new Response('Not Found', { status: 404 });
    },
  });
});
afterAll(() => server.stop(true));

const creds = {
  chatbotId: 'cb_1',
  websiteId: 'w1',
  identifier: 'id',
  key: 'key',
  tier: 'plugin' as const,
};
const client = () =>
  new HttpCrispClient({ baseUrl: `http://127.0.0.1:${server.port}`, timeoutMs: 2_000 });
const envelope = (status: number, reason: string) =>
  Response.json({ error: status >= 400, reason, data: {} }, { status });

describe('Crisp client credential check', () => {
  it('should reject the credentials when Crisp refuses them with its envelope', async () => {
    routes = { 'GET /v1/website/w1/conversations/1': () => envelope(401, 'invalid_session') };
    const res = await client().checkCredentials(creds);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.reason).toBe('invalid_session');
  });

  it('should reject an unknown website that Crisp reports with a 404 envelope', async () => {
    routes = { 'GET /v1/website/w1/conversations/1': () => envelope(404, 'website_not_found') };
    const res = await client().checkCredentials(creds);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.reason).toBe('website_not_found');
  });

  it('should try the website read when the conversations route is unknown to the server', async () => {
    seen.length = 0;
    routes = { 'GET /v1/website/w1': () => envelope(403, 'not_allowed') };
    const res = await client().checkCredentials(creds);
    expect(seen).toEqual(['GET /v1/website/w1/conversations/1', 'GET /v1/website/w1']);
    expect(res.ok).toBe(false);
  });

  it('should accept when no read route exists at all (nothing refused the credentials)', async () => {
    routes = {};
    expect((await client().checkCredentials(creds)).ok).toBe(true);
  });
});

describe('Crisp client responses', () => {
  it('should take an empty 2xx body as success', async () => {
    routes = {
      'PATCH /v1/website/w1/conversation/s1/compose': () => new Response(null, { status: 204 }),
    };
    expect((await client().compose(creds, 's1', 'start')).ok).toBe(true);
  });

  it('should take a posted message as sent, with or without a fingerprint', async () => {
    const post = () =>
      client().sendMessage(creds, 's1', {
        type: 'text',
        from: 'operator',
        origin: 'chat',
        content: 'hi',
        automated: true,
        user: { nickname: 'Bot' },
      });
    routes = {
      'POST /v1/website/w1/conversation/s1/message': () =>
        Response.json({ error: false, reason: 'dispatched', data: { fingerprint: 42 } }),
    };
    expect(await post()).toEqual({ ok: true, value: { fingerprint: '42' } });
    routes = {
      'POST /v1/website/w1/conversation/s1/message': () => new Response(null, { status: 204 }),
    };
    expect(await post()).toEqual({ ok: true, value: { fingerprint: null } });
    routes = {
      'POST /v1/website/w1/conversation/s1/message': () => envelope(500, 'internal'),
    };
    const failed = await post();
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.error.uncertain).toBe(true);
  });
});

describe('Crisp client quota refusals', () => {
  it("should take 429, 420, 423 and Crisp's quota_limit_exceeded reason (any status) as rate limits", async () => {
    const compose = () => client().compose(creds, 's1', 'start');
    for (const [status, reason] of [
      [429, 'too_many_requests'],
      [420, 'enhance_your_calm'],
      [423, 'quota_limit_exceeded'],
      [422, 'quota_limit_exceeded'],
      [200, 'quota_limit_exceeded'],
    ] as const) {
      routes = {
        'PATCH /v1/website/w1/conversation/s1/compose': () =>
          Response.json({ error: true, reason, data: {} }, { status }),
      };
      const res = await compose();
      expect(res.ok).toBe(false);
      if (!res.ok) expect([status, res.error.kind]).toEqual([status, 'rate_limited']);
    }
  });

  it('should tell every call it makes, refused ones marked, and send its User-Agent', async () => {
    const told: { route: string; status: number | null; refused: boolean }[] = [];
    agents.length = 0;
    routes = {
      'GET /v1/website/w1/availability/operators': () =>
        Response.json({ error: false, data: [{ type: 'online' }, { type: 'away' }] }),
      'PATCH /v1/website/w1/conversation/s1/compose': () =>
        Response.json({ error: true, reason: 'quota_limit_exceeded' }, { status: 423 }),
    };
    const counting = new HttpCrispClient({
      baseUrl: `http://127.0.0.1:${server.port}`,
      timeoutMs: 2_000,
      onCall: ({ route, status, refused, creds: c }) => {
        expect(c.chatbotId).toBe('cb_1');
        told.push({ route, status, refused });
      },
    });
    expect(await counting.operatorsOnline(creds)).toEqual({ ok: true, value: 1 });
    await counting.compose(creds, 's1', 'start');
    expect(told).toEqual([
      { route: 'availability', status: 200, refused: false },
      { route: 'compose', status: 423, refused: true },
    ]);
    expect(agents).toEqual([`answerdesk/${VERSION}`, `answerdesk/${VERSION}`]);
  });

  it('should ask for a page of messages around a time', async () => {
    seen.length = 0;
    routes = {
      'GET /v1/website/w1/conversation/s1/messages': () =>
        Response.json({ error: false, data: [] }),
    };
    await client().listMessages(creds, 's1', { timestampBefore: 1_700_000_000_123.4 });
    await client().listMessages(creds, 's1', { timestampAfter: 1_700_000_000_000 });
    expect(queries.slice(-2)).toEqual([
      '?timestamp_before=1700000000123',
      '?timestamp_after=1700000000000',
    ]);
  });
});
