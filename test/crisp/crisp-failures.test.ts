// Crisp REST failures: retried with backoff, never posted twice, unhealthy on 401/403/404.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { visitorMessage } from '../helpers/fake-crisp.ts';
import { fakeAnswer } from '../helpers/fake-groq.ts';
import { type CrispHarness, newSession, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

const lastJob = () =>
  h.deps.db
    .query<{ state: string; attempts: number; last_error: string | null }, []>(
      "SELECT state, attempts, last_error FROM jobs WHERE kind = 'crisp.reply' ORDER BY id DESC LIMIT 1",
    )
    .get()!;

describe('crisp failures', () => {
  it('should wait out a 429 without counting an attempt, then post once, without asking the LLM again', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    h.crisp.script('message', { status: 429, reason: 'rate_limited', retryAfter: '1' });
    await send(visitorMessage('rate limited question', { sessionId: sid }));
    try {
      // Past the burst window: the turn runs, Crisp refuses its post, it waits.
      await h.settle(2_100);
      expect(h.crisp.callsTo('message', sid).map((c) => c.status)).toEqual([429]);
      const status = await (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`)).json();
      expect(status.health).toMatchObject({ healthy: false, lastErrorStatus: 429 });
      expect(status.health.lastError).toContain('rate_limited');
      expect(status.health.throttledUntil).not.toBeNull();
      // Crisp's Retry-After (1 s) has passed.
      await h.settle(1_100);
    } finally {
      h.t.clock.unpin();
    }
    expect(h.crisp.callsTo('message', sid).map((c) => c.status)).toEqual([429, 200]);
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    expect(h.answersFor('rate limited question')).toBe(1);
    // The wait was not an attempt.
    expect(lastJob()).toMatchObject({ state: 'done', attempts: 1 });
    const status = await (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`)).json();
    expect(status.health).toMatchObject({ healthy: true, throttledUntil: null });
  });

  it('should wait out a 420 as well, and retry a 5xx', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    h.crisp.script('message', { status: 420 }, { status: 502 });
    await send(visitorMessage('calm down', { sessionId: sid }));
    try {
      await h.settle(2_100);
      expect(h.crisp.callsTo('message', sid).map((c) => c.status)).toEqual([420]);
      // No Retry-After: a minute, as Crisp's own tools wait.
      h.advance(61_000);
      await h.drain();
    } finally {
      h.t.clock.unpin();
    }
    expect(h.crisp.callsTo('message', sid).map((c) => c.status)).toEqual([420, 502, 200]);
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
  });

  it('should reconcile instead of re-posting when Crisp stored the message but answered 500', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    h.crisp.script('message', { status: 500, apply: true });
    await send(visitorMessage('ambiguous', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.callsTo('message', sid).length).toBe(1);
    expect(h.crisp.callsTo('messages', sid).length).toBe(1);
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
    const fp = h.crisp.posted(sid, 'text')[0]!.fingerprint;
    const sent = h.deps.db
      .query('SELECT kind FROM crisp_sent WHERE fingerprint = ?')
      .get(String(fp));
    expect(sent).toEqual({ kind: 'reply' });
  });

  it('should post after reconciling when Crisp did not store it (500, nothing applied)', async () => {
    const { send } = await h.connectedBot();
    const sid = newSession();
    h.crisp.script('message', { status: 500 });
    await send(visitorMessage('lost', { sessionId: sid }));
    await h.drain();
    expect(h.crisp.callsTo('message', sid).map((c) => c.status)).toEqual([500, 200]);
    expect(h.crisp.posted(sid, 'text').length).toBe(1);
  });

  it('should fail the job and mark the connection unhealthy on 401', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    h.crisp.script('compose', { status: 401, reason: 'invalid_session' });
    await send(visitorMessage('revoked', { sessionId: sid }));
    await h.drain();
    expect(lastJob().state).toBe('failed');
    expect(lastJob().last_error).toContain('invalid_session');
    // Failed before the answer: no LLM call was made for it.
    expect(h.answersFor('revoked')).toBe(0);
    const status = await (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`)).json();
    expect(status.health).toMatchObject({ healthy: false, lastErrorStatus: 401 });
    expect(status.health.lastError).toContain('invalid_session');
  });

  it('should fail on a 404 at posting time and say so in the status', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    h.groq.enqueue(fakeAnswer('never seen'));
    h.crisp.script('message', { status: 404, reason: 'session_not_found' });
    await send(visitorMessage('gone', { sessionId: sid }));
    await h.drain();
    expect(lastJob().state).toBe('failed');
    const status = await (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`)).json();
    expect(status.health.healthy).toBe(false);
    // A later successful call makes it healthy again.
    const next = newSession();
    await send(visitorMessage('back', { sessionId: next }));
    await h.drain();
    expect(h.crisp.posted(next, 'text').length).toBe(1);
    const after = await (await h.admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`)).json();
    expect(after.health.healthy).toBe(true);
  });

  it('should give quota back and forget it on the turn in one step (a crash between never overspends)', async () => {
    const { bot, send } = await h.connectedBot();
    const sid = newSession();
    const used = () =>
      h.deps.db
        .query<{ used: number }, [string]>(
          "SELECT used FROM usage_counters WHERE chatbot_id = ? AND window = 'day'",
        )
        .get(bot.id)?.used ?? 0;
    // Attempt 1: Groq fails, so the reservation is given back; the process "dies" right when the
    // turn forgets it (the write fails). Attempt 2 (Groq fine again) answers.
    h.deps.db.exec(`CREATE TRIGGER crash_on_release BEFORE UPDATE OF reservation ON crisp_turns
      WHEN OLD.reservation IS NOT NULL AND NEW.reservation IS NULL
      BEGIN SELECT RAISE(ABORT, 'simulated crash'); END`);
    const restore = () =>
      h.groq.setDefault((req) =>
        req.kind === 'condense' ? { text: '{"query":"q","lexicalQuery":"q"}' } : fakeAnswer('OK'),
      );
    h.groq.setDefault(() => ({ status: 500 }));
    h.crisp.script('compose', { status: 200 }, { status: 200, before: restore });
    try {
      await send(visitorMessage('count me once', { sessionId: sid }));
      await h.drain();
    } finally {
      h.deps.db.exec('DROP TRIGGER crash_on_release');
      restore();
    }
    expect(h.crisp.posted(sid, 'text').map((m) => m.content)).toEqual(['OK']);
    // One answer went out: exactly one message is counted.
    expect(used()).toBe(1);
  });

  it('should count every outcome in /metrics', async () => {
    const text = await (await h.admin('/metrics')).text();
    expect(text).toContain('answerdesk_crisp_turns_total{outcome="answered"}');
    expect(text).toContain('answerdesk_crisp_turns_total{outcome="crisp_retry"}');
    expect(text).toContain('answerdesk_crisp_turns_total{outcome="crisp_wait"}');
    expect(text).toContain('answerdesk_crisp_turns_total{outcome="failed"}');
    expect(text).toContain('answerdesk_crisp_webhooks_total{event="message:send",action="queued"}');
    expect(text).toContain('answerdesk_crisp_reconciled_total');
  });
});
