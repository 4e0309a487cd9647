import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test';
import { getChatbot } from '../../src/chatbots/service.ts';
import { type FakeGroq, fakeAnswer, startFakeGroq } from '../helpers/fake-groq.ts';
import { type ChatApp, chat, chatApp, chatStream, tokensOf } from './setup.ts';

let groq: FakeGroq;
let t: ChatApp;
let fast: ChatApp;

beforeAll(async () => {
  groq = await startFakeGroq();
  t = await chatApp(groq);
  // Small timeouts so the timeout paths run in milliseconds, not seconds.
  fast = await chatApp(groq, { LLM_FIRST_TOKEN_TIMEOUT_MS: '200', LLM_TOTAL_TIMEOUT_MS: '500' });
});
afterAll(async () => {
  await t.close();
  await fast.close();
  await groq.stop();
});
beforeEach(() => groq.reset());

const fallbackOf = (app: ChatApp) => getChatbot(app.deps.db, app.chatbotId).handoff.fallbackMessage;

describe('POST /chat (errors)', () => {
  it('should hand off with the fallback text after bounded retries on 5xx', async () => {
    groq.enqueue({ status: 500 }, { status: 503 }, { status: 500 }, fakeAnswer('never shown'));
    const { status, body } = await chat(t, { message: 'How long does a refund take?' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ handoff: true, reason: 'error', reply: fallbackOf(t) });
    expect(groq.requests).toHaveLength(3);
  });

  it('should recover from one 429 with a short retry-after', async () => {
    groq.enqueue({ status: 429, retryAfter: '0' }, fakeAnswer('Refunds take 5 days [1].'));
    const { body } = await chat(t, { message: 'How long does a refund take?' });
    expect(body).toMatchObject({ handoff: false, reply: 'Refunds take 5 days.' });
    expect(groq.requests).toHaveLength(2);
  });

  it('should hand off when the first token does not come in time', async () => {
    groq.enqueue(fakeAnswer('late', { firstTokenDelayMs: 2_000 }));
    const startedAt = performance.now();
    const { body } = await chat(fast, { message: 'How long does a refund take?' });
    expect(performance.now() - startedAt).toBeLessThan(1_500);
    expect(body).toMatchObject({ handoff: true, reason: 'error', reply: fallbackOf(fast) });
  });

  it('should end a stalled stream with the fallback text and a done event', async () => {
    groq.enqueue(fakeAnswer('Refunds are paid back within five days', { stallAfterTokens: 4 }));
    const { events } = await chatStream(fast, { message: 'How long does a refund take?' });
    const text = tokensOf(events);
    expect(text.endsWith(fallbackOf(fast))).toBe(true);
    expect(text).not.toContain('[[');
    expect(events.slice(-2).map((e) => e.event)).toEqual(['sources', 'done']);
    expect(events.at(-1)?.data).toMatchObject({ handoff: true, reason: 'error' });
  });

  it('should stop the LLM call and store no reply when the SSE reader goes away', async () => {
    // `t` has the default 30 s timeouts: only the cancel can end this stalled call in time.
    groq.enqueue(fakeAnswer('Refunds are paid back within five days', { stallAfterTokens: 4 }));
    const res = await t.request(`/api/v1/chatbots/${t.chatbotId}/chat`, {
      method: 'POST',
      json: { message: 'How long does a refund take?', conversationId: 'sse-cancel' },
      headers: { accept: 'text/event-stream' },
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('event: token')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toContain('event: token');
    await reader.cancel();
    expect(await groq.requests.at(-1)?.closed).toBe('client_aborted');
    // The turn ends as aborted (counted) once the pipeline unwinds.
    const aborted = 'answerdesk_answer_turns_total{outcome="aborted"}';
    for (let i = 0; i < 1_000 && !t.deps.metrics.render().includes(aborted); i++) {
      await new Promise(setImmediate);
    }
    expect(t.deps.metrics.render()).toContain(aborted);
    const stored = t.deps.db
      .query<{ role: string }, []>(
        `SELECT m.role FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE c.external_id = 'sse-cancel'`,
      )
      .all();
    expect(stored.map((m) => m.role)).toEqual(['visitor']);
  });

  it('should hand off on empty output and on a control line with no reply', async () => {
    for (const reply of [{ text: '' }, { text: '[[answer]]\n  ' }]) {
      groq.enqueue(reply);
      const { body } = await chat(t, { message: 'How long does a refund take?' });
      expect(body).toMatchObject({ handoff: true, reason: 'error', reply: fallbackOf(t) });
      expect(body.reply.length).toBeGreaterThan(0);
    }
  });

  it('should hand off without GROQ_API_KEY and never call the LLM', async () => {
    const keyless = await chatApp(null, { GROQ_BASE_URL: groq.baseUrl });
    try {
      const { status, body } = await chat(keyless, { message: 'How long does a refund take?' });
      expect(status).toBe(200);
      expect(body).toMatchObject({ handoff: true, reason: 'error', reply: fallbackOf(keyless) });
      const { events } = await chatStream(keyless, { message: 'hello' });
      expect(tokensOf(events)).toBe(fallbackOf(keyless));
      expect(groq.requests).toHaveLength(0);
    } finally {
      await keyless.close();
    }
  });

  it('should reject an empty message, a too long conversationId and unknown fields with 422', async () => {
    for (const body of [
      { message: '' },
      { message: '   ' },
      { message: 'hi', conversationId: 'x'.repeat(129) },
      { message: 'hi', conversationId: '' },
      { message: 'hi', extra: true },
      {},
    ]) {
      const { status, body: res } = await chat(t, body);
      expect(status).toBe(422);
      expect((res as unknown as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
    }
    expect(groq.requests).toHaveLength(0);
  });

  it('should answer 404 for an unknown chatbot', async () => {
    const { status } = await chat({ ...t, chatbotId: 'cb_missing' }, { message: 'hi' });
    expect(status).toBe(404);
  });
});
