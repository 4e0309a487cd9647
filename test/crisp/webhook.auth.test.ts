// Webhook authentication: the URL key, the plugin signature, and nothing recorded on a 401.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { delivery, visitorMessage } from '../helpers/fake-crisp.ts';
import { type CrispHarness, newSession, SIGNING_SECRET, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness({ CRISP_SIGNATURE_MAX_AGE_SECONDS: '0' });
});
afterAll(() => h.close());

const rows = (table: string) =>
  (h.deps.db.query(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('crisp webhook (auth)', () => {
  it('should refuse a delivery without the key, with a wrong key, and record nothing', async () => {
    const { bot, key } = await h.connectedBot();
    const before = {
      jobs: rows('jobs'),
      inbox: rows('crisp_inbox'),
      conversations: rows('conversations'),
    };
    const missing = await h.webhook(bot.id, visitorMessage('hi', { sessionId: newSession() }));
    expect(missing.status).toBe(401);
    expect((await missing.json()).error.code).toBe('UNAUTHORIZED');
    const wrong = await h.webhook(bot.id, visitorMessage('hi', { sessionId: newSession() }), {
      key: `${key.slice(0, -1)}x`,
    });
    expect(wrong.status).toBe(401);
    // The admin token is not a webhook credential.
    const bearer = await fetch(`${h.base}/api/integrations/livechat/crisp/webhook/${bot.id}`, {
      ...delivery(visitorMessage('hi')),
      headers: {
        ...delivery(visitorMessage('hi')).headers,
        authorization: 'Bearer test-admin-token-0123456789',
      },
    });
    expect(bearer.status).toBe(401);
    expect({
      jobs: rows('jobs'),
      inbox: rows('crisp_inbox'),
      conversations: rows('conversations'),
    }).toEqual(before);
  });

  it('should check the 401 before the body is parsed (garbage with a bad key is 401, not 400)', async () => {
    const { bot } = await h.connectedBot();
    const res = await fetch(
      `${h.base}/api/integrations/livechat/crisp/webhook/${bot.id}?key=nope`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      },
    );
    expect(res.status).toBe(401);
  });

  it('should accept a plugin hook with a good signature and no key', async () => {
    const { bot } = await h.connectedBot({}, { signingSecret: SIGNING_SECRET });
    const sid = newSession();
    const res = await h.webhook(bot.id, visitorMessage('signed hello', { sessionId: sid }), {
      signingSecret: SIGNING_SECRET,
    });
    expect(res.status).toBe(200);
    await h.drain();
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
  });

  it('should sign over the timestamp header exactly as received (seconds work too)', async () => {
    const { bot } = await h.connectedBot({}, { signingSecret: SIGNING_SECRET });
    const res = await h.webhook(bot.id, visitorMessage('in seconds', { sessionId: newSession() }), {
      signingSecret: SIGNING_SECRET,
      timestamp: String(Math.floor(Date.now() / 1000)),
    });
    expect(res.status).toBe(200);
  });

  it('should refuse a bad signature, even next to a right key, and record nothing', async () => {
    const { bot, key } = await h.connectedBot({}, { signingSecret: SIGNING_SECRET });
    const before = rows('jobs');
    const bad = await h.webhook(bot.id, visitorMessage('forged', { sessionId: newSession() }), {
      signingSecret: SIGNING_SECRET,
      badSignature: true,
    });
    expect(bad.status).toBe(401);
    const badWithKey = await h.webhook(
      bot.id,
      visitorMessage('forged', { sessionId: newSession() }),
      {
        signingSecret: SIGNING_SECRET,
        badSignature: true,
        key,
      },
    );
    expect(badWithKey.status).toBe(401);
    // Signed with another secret.
    const other = await h.webhook(bot.id, visitorMessage('forged', { sessionId: newSession() }), {
      signingSecret: 'some-other-secret',
    });
    expect(other.status).toBe(401);
    // A body changed after signing.
    const init = delivery(visitorMessage('original', { sessionId: newSession() }), {
      signingSecret: SIGNING_SECRET,
    });
    const tampered = await fetch(`${h.base}/api/integrations/livechat/crisp/webhook/${bot.id}`, {
      ...init,
      body: init.body.replace('original', 'tampered'),
    });
    expect(tampered.status).toBe(401);
    expect(rows('jobs')).toBe(before);
  });

  it('should refuse the URL key alone once the chatbot has a signing secret, and record nothing', async () => {
    const { bot, key } = await h.connectedBot({}, { signingSecret: SIGNING_SECRET });
    const before = {
      jobs: rows('jobs'),
      inbox: rows('crisp_inbox'),
      conversations: rows('conversations'),
      messages: rows('messages'),
    };
    const sid = newSession();
    // The right key, no signature: a Website Hook style delivery to a plugin connection.
    const keyOnly = await h.webhook(bot.id, visitorMessage('key only', { sessionId: sid }), {
      key,
    });
    expect(keyOnly.status).toBe(401);
    expect((await keyOnly.json()).error.code).toBe('UNAUTHORIZED');
    // The right key and an empty signature header.
    const init = delivery(visitorMessage('empty signature', { sessionId: sid }));
    const empty = await fetch(
      `${h.base}/api/integrations/livechat/crisp/webhook/${bot.id}?key=${encodeURIComponent(key)}`,
      { ...init, headers: { ...init.headers, 'x-crisp-signature': '' } },
    );
    expect(empty.status).toBe(401);
    expect({
      jobs: rows('jobs'),
      inbox: rows('crisp_inbox'),
      conversations: rows('conversations'),
      messages: rows('messages'),
    }).toEqual(before);
    // The signature decides: with it (and the key too) the delivery is taken.
    const signed = await h.webhook(bot.id, visitorMessage('signed', { sessionId: sid }), {
      key,
      signingSecret: SIGNING_SECRET,
    });
    expect(signed.status).toBe(200);
    const text = await (await h.admin('/metrics')).text();
    expect(text).toContain(
      'answerdesk_crisp_webhooks_total{event="unknown",action="unauthorized_missing_signature"}',
    );
  });

  it('should accept the body re-serialised by JSON.stringify when Crisp signed that form', async () => {
    const { bot } = await h.connectedBot({}, { signingSecret: SIGNING_SECRET });
    const event = visitorMessage('spaced', { sessionId: newSession() });
    const signed = delivery(event, { signingSecret: SIGNING_SECRET });
    // Same signature (over the compact form), body sent pretty-printed.
    const res = await fetch(`${h.base}/api/integrations/livechat/crisp/webhook/${bot.id}`, {
      ...signed,
      body: JSON.stringify(event, null, 2),
    });
    expect(res.status).toBe(200);
  });

  it('should enforce a replay window when configured (seconds or milliseconds)', async () => {
    const strict = await startCrispHarness({ CRISP_SIGNATURE_MAX_AGE_SECONDS: '300' });
    try {
      const { bot } = await strict.connectedBot({}, { signingSecret: SIGNING_SECRET });
      const old = String(Date.now() - 3600_000);
      const stale = await strict.webhook(
        bot.id,
        visitorMessage('old', { sessionId: newSession() }),
        {
          signingSecret: SIGNING_SECRET,
          timestamp: old,
        },
      );
      expect(stale.status).toBe(401);
      const fresh = await strict.webhook(
        bot.id,
        visitorMessage('new', { sessionId: newSession() }),
        {
          signingSecret: SIGNING_SECRET,
          timestamp: String(Math.floor(Date.now() / 1000)),
        },
      );
      expect(fresh.status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('should document the webhook as public in OpenAPI (security: [])', async () => {
    const doc = await (await fetch(`${h.base}/docs/json`)).json();
    const op = doc.paths['/api/integrations/livechat/crisp/webhook/{chatbotId}'].post;
    expect(op.security).toEqual([]);
    expect(doc.paths['/api/v1/chatbots/{chatbotId}/integrations/crisp'].put).toBeDefined();
  });
});
