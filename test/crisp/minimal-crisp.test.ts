// A Crisp-compatible server that implements only the calls the contract names (send message,
// compose, state: docs/notes/contract.md) and answers without fingerprints: the bot must still connect, answer once, recognise its
// own echo and hand off completely.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { type FakeGroq, startFakeGroq } from '../helpers/fake-groq.ts';

type Call = { method: string; path: string; body: Record<string, unknown> };

let crisp: ReturnType<typeof Bun.serve>;
const calls: Call[] = [];
let groq: FakeGroq;
let t: TestApp;
let chatbotId: string;
let webhook: string;

const WEBSITE = '42286ab3-b29a-4fde-8538-da0ae501d825';
const SESSION = 'session_36ba3566-9651-4790-afc8-ffedbccc317f';

beforeAll(async () => {
  crisp = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const { pathname } = new URL(req.url);
      const text = await req.text();
      const ok =
        (req.method === 'POST' && pathname.endsWith('/message')) ||
        (req.method === 'PATCH' && /\/(compose|state)$/.test(pathname));
      if (!ok) return new Response('Not Found', { status: 404 });
      calls.push({ method: req.method, path: pathname, body: JSON.parse(text) });
      return Response.json({ error: false, reason: 'dispatched' });
    },
  });
  groq = await startFakeGroq();
  // A model that writes plain text, with no control line.
  groq.setDefault(() => ({ text: 'Refunds are paid within five days.' }));
  t = await buildTestApp({
    CRISP_API_URL: `http://127.0.0.1:${crisp.port}`,
    GROQ_BASE_URL: groq.baseUrl,
    GROQ_API_KEY: 'test-groq-key',
    CRISP_BURST_WINDOW_MS: '0',
  });
  chatbotId = (
    await (await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Shop' } })).json()
  ).id;
  await t.request(`/api/v1/chatbots/${chatbotId}/sources`, {
    method: 'POST',
    json: { type: 'text', title: 'Refunds', text: 'Refunds are paid within five business days.' },
  });
  const connect = await t.request(`/api/v1/chatbots/${chatbotId}/integrations/crisp`, {
    method: 'PUT',
    json: { websiteId: WEBSITE, tokenIdentifier: 'identifier', tokenKey: 'key' },
  });
  expect(connect.status).toBe(200);
  const url = new URL((await connect.json()).webhookUrl);
  webhook = url.pathname + url.search;
});
afterAll(async () => {
  await t.close();
  await groq.stop();
  crisp.stop(true);
});

let fingerprint = 1;
const deliver = (event: string, data: Record<string, unknown>) =>
  t.request(webhook, {
    method: 'POST',
    auth: false,
    json: {
      website_id: WEBSITE,
      event,
      data: { website_id: WEBSITE, session_id: SESSION, timestamp: Date.now(), ...data },
      timestamp: Date.now(),
    },
  });
const visitor = (content: string) =>
  deliver('message:send', {
    type: 'text',
    from: 'user',
    origin: 'chat',
    content,
    fingerprint: fingerprint++,
    user: { nickname: 'visitor1', user_id: SESSION },
  });
const posted = (type: string) =>
  calls.filter((c) => c.path.endsWith('/message') && c.body.type === type);

describe('a minimal Crisp-compatible server', () => {
  it('should answer a visitor once and ignore its own echo without a fingerprint', async () => {
    expect((await visitor('How long do refunds take?')).status).toBe(200);
    await t.deps.worker.drain();
    expect(posted('text').map((c) => c.body.content)).toEqual([
      'Refunds are paid within five days.',
    ]);
    expect(posted('text')[0]?.body).toMatchObject({ from: 'operator', origin: 'chat' });

    // Crisp echoes our post back as an operator message; it must not mute the bot.
    await deliver('message:received', {
      type: 'text',
      from: 'operator',
      origin: 'chat',
      content: 'Refunds are paid within five days.',
      fingerprint: 987654321,
      user: { nickname: 'Assistant', user_id: 'operator-1' },
    });
    await visitor('And do you refund shipping?');
    await t.deps.worker.drain();
    expect(posted('text')).toHaveLength(2);
  });

  it('should hand off completely: text, unresolved state and a private note', async () => {
    await visitor('I want to talk to a human please');
    await t.deps.worker.drain();
    const last = posted('text').at(-1);
    expect(last?.body.content).toBe(
      'Let me bring in a member of our team; they will reply here shortly.',
    );
    expect(calls.some((c) => c.path.endsWith('/state') && c.body.state === 'unresolved')).toBe(
      true,
    );
    expect(posted('note')).toHaveLength(1);
  });
});
