// Webhook order of checks, malformed deliveries, duplicates and filters.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { delivery, setState, visitorMessage, WEBSITE_ID } from '../helpers/fake-crisp.ts';
import { type CrispHarness, newSession, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

const url = (botId: string, key?: string) =>
  `${h.base}/api/integrations/livechat/crisp/webhook/${botId}${key ? `?key=${encodeURIComponent(key)}` : ''}`;
const jobCount = () => (h.deps.db.query('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n;

describe('crisp webhook (errors and filters)', () => {
  it('should answer 404 for an unknown chatbot, and for a disconnected one', async () => {
    expect((await h.webhook('cb_unknown', visitorMessage('hi'), { key: 'x' })).status).toBe(404);
    const bot = await h.createChatbot();
    expect((await h.webhook(bot.id, visitorMessage('hi'), { key: 'x' })).status).toBe(404);
    const { key } = await h.connect(bot.id);
    expect(
      (await h.webhook(bot.id, visitorMessage('hi', { sessionId: newSession() }), { key })).status,
    ).toBe(200);
    expect(
      (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`, { method: 'DELETE' })).status,
    ).toBe(204);
    expect(
      (await h.webhook(bot.id, visitorMessage('hi', { sessionId: newSession() }), { key })).status,
    ).toBe(404);
  });

  it('should answer 404 before 413 and 413 before 401', async () => {
    const big = 'x'.repeat(1_048_577);
    expect((await fetch(url('cb_unknown'), { method: 'POST', body: big })).status).toBe(404);
    const { bot } = await h.connectedBot();
    const tooLarge = await fetch(url(bot.id, 'wrong'), { method: 'POST', body: big });
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('should answer 413 for a streamed body without Content-Length', async () => {
    const { bot, key } = await h.connectedBot();
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 20) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(url(bot.id, key), {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('should answer 400 for a body that is not JSON or not a Crisp envelope', async () => {
    const { bot, key } = await h.connectedBot();
    const post = (body: string) =>
      fetch(url(bot.id, key), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    expect((await post('{not json')).status).toBe(400);
    expect((await post('[]')).status).toBe(400);
    expect((await post('{"hello":"world"}')).status).toBe(400);
    expect(
      (await post(JSON.stringify({ website_id: WEBSITE_ID, event: 'message:send' }))).status,
    ).toBe(400);
    // A handled event whose data is not what Crisp sends.
    const bad = await post(
      JSON.stringify({ website_id: WEBSITE_ID, event: 'message:send', data: { from: 'user' } }),
    );
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('BAD_REQUEST');
  });

  it('should answer 400 to a body nested too deep, after the 401 for a wrong key', async () => {
    const { bot, key } = await h.connectedBot();
    const deep = JSON.stringify(visitorMessage('hi')).replace(
      '"hi"',
      '['.repeat(20_000) + ']'.repeat(20_000),
    );
    const send = (k: string) =>
      fetch(url(bot.id, k), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: deep,
      });
    expect((await send('wrong')).status).toBe(401);
    const res = await send(key);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'The JSON body nests deeper than 32 levels',
    });
  });

  it('should count events it does not know under one "other" label in /metrics', async () => {
    const { send } = await h.connectedBot();
    for (let i = 0; i < 5; i++) {
      const event = { ...setState('resolved'), event: `made:up:event-${crypto.randomUUID()}` };
      expect(await (await send(event)).json()).toEqual({ ok: true, action: 'ignored' });
    }
    const text = await (await h.admin('/metrics')).text();
    expect(text).not.toContain('made:up:event');
    expect(text).toMatch(/answerdesk_crisp_webhooks_total\{event="other",action="ignored"\} [5-9]/);
  });

  it('should answer a duplicate delivery 200 without a second job or reply', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    const event = visitorMessage('Only once please', { sessionId: sid });
    expect(await (await send(event)).json()).toEqual({ ok: true, action: 'queued' });
    const jobs = jobCount();
    const retry = await send(event, { attempt: 2 });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ ok: true, action: 'duplicate' });
    await h.drain();
    // Redelivered after the answer, too.
    expect((await send(event, { attempt: 3 })).status).toBe(200);
    await h.drain();
    expect(jobCount()).toBe(jobs);
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
  });

  it('should answer concurrent duplicate deliveries with a single job', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    const event = visitorMessage('Racing', { sessionId: sid });
    const before = jobCount();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => send(event, { attempt: i + 1 })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(jobCount()).toBe(before + 1);
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
  });

  it('should drop events it does not handle, and messages it must not answer, with 200', async () => {
    const { send } = await h.connectedBot({ channels: ['chat'] });
    const sid = newSession();
    const before = jobCount();
    const dropped = [
      {
        website_id: WEBSITE_ID,
        event: 'session:request:initiated',
        data: { website_id: WEBSITE_ID, session_id: sid },
        timestamp: 1,
      },
      {
        website_id: WEBSITE_ID,
        event: 'message:updated',
        data: { fingerprint: 1, content: 'x', session_id: sid },
        timestamp: 1,
      },
      visitorMessage('an email', { sessionId: sid, origin: 'email' }),
      visitorMessage('a file', { sessionId: sid, type: 'file' }),
      {
        ...visitorMessage('from an operator via send', { sessionId: sid }),
        data: { ...visitorMessage('x', { sessionId: sid }).data, from: 'operator' },
      },
    ];
    for (const event of dropped) {
      const res = await send(event);
      expect(res.status).toBe(200);
      expect((await res.json()).action).toBe('ignored');
    }
    // Another website's event reaching this chatbot's URL is dropped too.
    const other = await send(
      visitorMessage('hi', { sessionId: sid, websiteId: 'another-website' }),
    );
    expect(await other.json()).toEqual({ ok: true, action: 'website_mismatch' });
    expect(jobCount()).toBe(before);
  });

  it('should answer other channels when the chatbot allows them', async () => {
    const { send } = await h.connectedBot({ channels: ['chat', 'urn:crisp.im:whatsapp:0'] });
    const sid = newSession();
    expect(
      await (
        await send(visitorMessage('hola', { sessionId: sid, origin: 'urn:crisp.im:whatsapp:0' }))
      ).json(),
    ).toEqual({
      ok: true,
      action: 'queued',
    });
  });

  it('should queue the verbatim quickstart example of message:send', async () => {
    const { bot, key } = await h.connectedBot();
    const raw = `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"website_id":"${WEBSITE_ID}","session_id":"session_smoke","type":"text","content":"Hey :)","from":"user","origin":"chat","stamped":true,"timestamp":1506985696616,"fingerprint":150698569649423,"user":{"nickname":"visitor493603","user_id":"session_smoke"}},"timestamp":1506985696616}`;
    const res = await fetch(url(bot.id, key), { ...delivery({}), body: raw });
    expect(await res.json()).toEqual({ ok: true, action: 'queued' });
  });
});
