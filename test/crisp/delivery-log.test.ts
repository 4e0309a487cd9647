// The delivery log (`GET …/integrations/crisp/deliveries`): every webhook delivery of a chatbot,
// what the webhook did and what the visitor message came to; no message text, no secret; bounded.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { DELIVERY_LOG_MAX_ROWS, logDelivery, logRefused } from '../../src/crisp/delivery-log.ts';
import { operatorMessage, setRouting, setState, visitorMessage } from '../helpers/fake-crisp.ts';
import { fakeAnswer, fakeHandoff } from '../helpers/fake-groq.ts';
import { type CrispHarness, newSession, SIGNING_SECRET, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

const rows = (chatbotId: string) =>
  h.deps.db
    .query<{ n: number }, [string]>(
      'SELECT COUNT(*) AS n FROM crisp_deliveries WHERE chatbot_id = ?',
    )
    .get(chatbotId)!.n;

describe('delivery log', () => {
  it('should list every delivery newest first: what the webhook did, why, and the turn outcome', async () => {
    const { bot, send, deliveries } = await h.connectedBot();
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('Secret-free answer text.'));
    await send(visitorMessage('My card number is 4242 4242', { sessionId: sid }));
    await send(visitorMessage('', { sessionId: sid }));
    await send(visitorMessage('a photo', { sessionId: sid, type: 'file' }));
    await send(visitorMessage('by e-mail', { sessionId: sid, origin: 'email' }));
    await send({ website_id: 'another-website', event: 'message:send', data: { session_id: sid } });
    await send(setRouting('op-1', { sessionId: sid }));
    await send(setState('pending', { sessionId: sid }));
    await send({ ...setState('resolved', { sessionId: sid }), event: 'session:set_opened' });
    // Before the turn ends, its outcome is not known yet.
    expect((await deliveries()).at(-1)).toMatchObject({ action: 'queued', outcome: null });
    await h.drain();
    const log = await deliveries();
    expect(log.map((d) => [d.event, d.action, d.reason, d.outcome]).reverse()).toEqual([
      ['message:send', 'queued', null, 'answered'],
      ['message:send', 'ignored', 'empty', null],
      ['message:send', 'ignored', 'not_text', null],
      ['message:send', 'ignored', 'origin_not_allowed', null],
      ['message:send', 'website_mismatch', null, null],
      ['session:set_routing', 'ignored', 'assignment_not_human', null],
      ['session:set_state', 'ignored', 'not_resolved', null],
      ['session:set_opened', 'ignored', 'event_not_handled', null],
    ]);
    expect(log.every((d) => d.sessionId === sid)).toBe(true);
    expect(Date.parse(log[0]!.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
    // No message text: neither the visitor's nor the bot's.
    const text = JSON.stringify(log);
    expect(text).not.toContain('4242');
    expect(text).not.toContain('Secret-free');
    expect(bot.id).toBeTruthy();
  });

  it('should ignore the resolve of a session the bot never had, and record a redelivered resolve once', async () => {
    const { bot, send, deliveries } = await h.connectedBot();
    const unknown = newSession();
    await send(setState('resolved', { sessionId: unknown }));
    expect((await deliveries(1))[0]).toMatchObject({
      sessionId: unknown,
      action: 'ignored',
      reason: 'unknown_session',
    });
    const conversation = await h.admin(`/api/v1/chatbots/${bot.id}/conversations/${unknown}`);
    expect(conversation.status).toBe(404);

    const known = newSession();
    h.groq.enqueue(fakeAnswer('We open at nine.'));
    await send(visitorMessage('When do you open?', { sessionId: known }));
    await h.drain();
    for (let i = 0; i < 3; i++) await send(setState('resolved', { sessionId: known }));
    const resolutions = h.t.deps.db
      .query<{ n: number }, [string, string]>(
        `SELECT COUNT(*) AS n FROM conversation_resolutions r JOIN conversations c
         ON c.id = r.conversation_id WHERE c.chatbot_id = ? AND c.external_id = ?`,
      )
      .get(bot.id, known)!.n;
    expect(resolutions).toBe(1);
  });

  it('should give handoffs, mutes and failures as outcomes', async () => {
    const { send, deliveries } = await h.connectedBot();
    const handoff = newSession();
    const muted = newSession();
    const failed = newSession();
    h.groq.enqueue(fakeHandoff('no_answer'));
    await send(visitorMessage('Something the docs do not say', { sessionId: handoff }));
    await send(operatorMessage('I am on it', { sessionId: muted }));
    await send(visitorMessage('Thanks', { sessionId: muted }));
    await h.drain();
    h.crisp.script('compose', { status: 404, reason: 'session_not_found' });
    await send(visitorMessage('Hello', { sessionId: failed }));
    await h.drain();
    const outcomeOf = async (sid: string) =>
      (await deliveries()).find((d) => d.sessionId === sid && d.action === 'queued')?.outcome;
    expect(await outcomeOf(handoff)).toBe('handoff:no_answer');
    expect(await outcomeOf(muted)).toBe('muted');
    expect(await outcomeOf(failed)).toBe('failed:session_not_found');
    expect((await deliveries()).find((d) => d.sessionId === muted)).toMatchObject({
      event: 'message:send',
    });
  });

  it('should log a bad key or signature as rejected, without its body, one row a minute', async () => {
    const { bot, deliveries } = await h.connectedBot({}, { signingSecret: SIGNING_SECRET });
    const event = visitorMessage('attacker text', { sessionId: 'session_attacker' });
    for (let i = 0; i < 30; i++) {
      const res = await h.webhook(bot.id, event, { key: 'wrong-key' });
      expect(res.status).toBe(401);
    }
    const bad = await h.webhook(bot.id, event, { signingSecret: 'another-secret' });
    expect(bad.status).toBe(401);
    const log = await deliveries();
    expect(log.length).toBeLessThanOrEqual(3);
    const missing = log.find((d) => d.reason === 'missing_signature');
    expect(missing).toMatchObject({ action: 'rejected', event: null, sessionId: null, count: 30 });
    expect(log.find((d) => d.reason === 'bad_signature')).toMatchObject({ action: 'rejected' });
    const text = JSON.stringify(log);
    expect(text).not.toContain('attacker');
    expect(text).not.toContain('wrong-key');
    // Nothing else was recorded for them.
    expect(
      h.deps.db.query("SELECT 1 FROM crisp_inbox WHERE session_id = 'session_attacker'").get(),
    ).toBeNull();
  });

  it('should page with limit (default 50, at most 500), for admins only, 404 for an unknown chatbot', async () => {
    const { bot, send, deliveries } = await h.connectedBot();
    for (let i = 0; i < 60; i++) await send(setState('pending', { sessionId: newSession() }));
    expect((await deliveries()).length).toBe(50);
    expect((await deliveries(5)).length).toBe(5);
    expect((await deliveries(500)).length).toBe(60);
    const path = `/api/v1/chatbots/${bot.id}/integrations/crisp/deliveries`;
    expect((await h.admin(`${path}?limit=501`)).status).toBe(422);
    expect((await h.admin(`${path}?limit=0`)).status).toBe(422);
    expect((await h.admin(path, { auth: false })).status).toBe(401);
    expect((await h.admin('/api/v1/chatbots/cb_nope/integrations/crisp/deliveries')).status).toBe(
      404,
    );
  });

  it('should keep 7 days and a bounded number of rows per chatbot', async () => {
    const { bot } = await h.connectedBot();
    const db = h.deps.db;
    const now = Date.now();
    const old = now - 8 * 86_400_000;
    const entry = (at: number) => ({
      chatbotId: bot.id,
      at,
      event: 'session:set_state',
      websiteId: null,
      sessionId: null,
      fingerprint: null,
      action: 'ignored',
      reason: 'not_resolved',
    });
    db.transaction(() => {
      for (let i = 0; i < 100; i++) logDelivery(db, entry(old));
      // A flood: far over the cap, refused deliveries coalesce; accepted ones are pruned.
      for (let i = 0; i < DELIVERY_LOG_MAX_ROWS + 1_000; i++) logDelivery(db, entry(now));
      for (let i = 0; i < 5_000; i++) logRefused(db, bot.id, now, 'bad_key');
    })();
    const listed = await (
      await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp/deliveries?limit=500`)
    ).json();
    expect(
      listed.deliveries.every(
        (d: { receivedAt: string }) => Date.parse(d.receivedAt) >= now - 7 * 86_400_000,
      ),
    ).toBe(true);
    expect(rows(bot.id)).toBeLessThanOrEqual(DELIVERY_LOG_MAX_ROWS + 256);
    expect(
      db
        .query<{ n: number }, [string, number]>(
          'SELECT COUNT(*) AS n FROM crisp_deliveries WHERE chatbot_id = ? AND received_at < ?',
        )
        .get(bot.id, now - 7 * 86_400_000)!.n,
    ).toBe(0);
    // A chatbot's log goes with it.
    await h.admin(`/api/v1/chatbots/${bot.id}`, { method: 'DELETE' });
    expect(rows(bot.id)).toBe(0);
  });
});
