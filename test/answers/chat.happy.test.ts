import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test';
import * as v from 'valibot';
import { answerMessage, handoffText } from '../../src/answers/answer.ts';
import { Provenance } from '../../src/answers/model.ts';
import { getChatbot } from '../../src/chatbots/service.ts';
import {
  addVisitorMessage,
  findConversationByExternalId,
  getConversationWithMessages,
  getOrCreateConversation,
} from '../../src/conversations/service.ts';
import {
  type FakeGroq,
  fakeAnswer,
  fakeHandoff,
  fakeRewrite,
  promptText,
  startFakeGroq,
} from '../helpers/fake-groq.ts';
import { type ChatApp, chat, chatApp, chatStream, tokensOf } from './setup.ts';

const LEAK = /\[\[|\]\]|handoff|\[\d/i;

let groq: FakeGroq;
let t: ChatApp;

beforeAll(async () => {
  groq = await startFakeGroq();
  t = await chatApp(groq);
});
afterAll(async () => {
  await t.close();
  await groq.stop();
});
beforeEach(() => groq.reset());

describe('POST /chat (happy)', () => {
  it('should put the retrieved passage text into the prompt and answer without markers', async () => {
    groq.enqueue(fakeAnswer('Refunds are paid within 5 business days [1].'));
    const { status, body } = await chat(t, { message: 'How long does a refund take?' });
    expect(status).toBe(200);
    expect(body.reply).toBe('Refunds are paid within 5 business days.');
    expect(body.handoff).toBe(false);
    expect(body.reason).toBeNull();
    expect(body.conversationId.length).toBeGreaterThan(0);
    expect(body.sources[0]?.title).toBe('Refund policy');
    expect(Object.keys(body.sources[0] ?? {}).sort()).toEqual(
      ['chunkId', 'score', 'sourceId', 'text', 'title', 'url'].sort(),
    );
    expect(body.usage.llmCalls).toBe(1);
    expect(body.usage.completionTokens).toBeGreaterThan(0);
    // First message in the knowledge language: no rewrite call, one answer call.
    expect(groq.requests.map((r) => r.kind)).toEqual(['answer']);
    const prompt = promptText(groq.requests[0]!);
    expect(prompt).toContain('Refunds are paid back within 5 business days');
    expect(prompt).toContain('URL: https://shop.test/refunds');
    expect(prompt).toContain('How long does a refund take?');
  });

  it('should carry the conversation history into the prompt and use the condensed query', async () => {
    groq.enqueue(fakeAnswer('Refunds take 5 business days [1].'));
    const first = await chat(t, { message: 'How long does a refund take?', conversationId: 'h-1' });
    expect(first.body.conversationId).toBe('h-1');
    groq.reset();
    groq.enqueue(
      fakeRewrite('How much does shipping to Canada cost?'),
      fakeAnswer('It costs 12 dollars [1].'),
    );
    const second = await chat(t, { message: 'and what about that one?', conversationId: 'h-1' });
    expect(second.body.reply).toBe('It costs 12 dollars.');
    expect(groq.requests.map((r) => r.kind)).toEqual(['condense', 'answer']);
    // The rewrite call saw the history; the answer prompt carries history as chat turns.
    expect(promptText(groq.requests[0]!)).toContain('How long does a refund take?');
    const answerMessages = groq.requests[1]!.body.messages;
    expect(answerMessages.slice(1)).toEqual([
      { role: 'user', content: 'How long does a refund take?' },
      { role: 'assistant', content: 'Refunds take 5 business days.' },
      { role: 'user', content: 'and what about that one?' },
    ]);
    // Retrieval ran on the condensed query: the Canada passage is first and in the prompt.
    expect(second.body.sources[0]?.title).toBe('Shipping to Canada');
    expect(promptText(groq.requests[1]!)).toContain('Shipping to Canada costs 12 dollars');
    const conversation = findConversationByExternalId(t.deps.db, t.chatbotId, 'playground', 'h-1');
    const stored = getConversationWithMessages(t.deps.db, conversation!.id)!;
    const provenance = stored.messages.at(-1)?.provenance as Record<string, unknown>;
    expect(provenance.standaloneQuery).toBe('How much does shipping to Canada cost?');
    expect(provenance.condensed).toBe(true);
  });

  it('should translate the lexical query when the visitor writes another language', async () => {
    groq.enqueue(
      fakeRewrite('Combien de temps prend un remboursement ?', 'refund how long'),
      fakeAnswer('Les remboursements prennent 5 jours ouvrés [1].'),
    );
    const { body } = await chat(t, {
      message: 'Combien de temps prend un remboursement pour ma commande ?',
    });
    expect(groq.requests.map((r) => r.kind)).toEqual(['condense', 'answer']);
    expect(promptText(groq.requests[0]!)).toContain('English');
    expect(body.sources[0]?.title).toBe('Refund policy');
    expect(body.reply).toBe('Les remboursements prennent 5 jours ouvrés.');
    expect(body.usage.llmCalls).toBe(2);
  });

  it('should stream tokens, then sources, then done, with the same text as the JSON reply', async () => {
    groq.enqueue(
      fakeAnswer('Refunds are paid within 5 business days [1]. Anything else?', { tokenChars: 1 }),
    );
    const { status, contentType, events } = await chatStream(t, {
      message: 'How long does a refund take?',
    });
    expect(status).toBe(200);
    expect(contentType).toContain('text/event-stream');
    const kinds = events.map((e) => e.event);
    const firstNonToken = kinds.findIndex((k) => k !== 'token');
    expect(firstNonToken).toBeGreaterThan(3);
    expect(kinds.slice(firstNonToken)).toEqual(['sources', 'done']);
    const text = tokensOf(events);
    expect(text).toBe('Refunds are paid within 5 business days. Anything else?');
    expect(LEAK.test(text)).toBe(false);
    const sources = events.find((e) => e.event === 'sources')?.data as { title: string }[];
    expect(sources[0]?.title).toBe('Refund policy');
    const done = events.at(-1)?.data as Record<string, unknown>;
    expect(done.handoff).toBe(false);
    expect(done.reason).toBeNull();
    expect(done.usage).toMatchObject({ llmCalls: 1 });
    expect(typeof done.conversationId).toBe('string');
  });

  it('should hand off invisibly when the model asks for a human, streamed and not', async () => {
    const chatbot = getChatbot(t.deps.db, t.chatbotId);
    const message = 'Je veux parler à un humain, pas à un robot';
    groq.setDefault((req) =>
      req.kind === 'answer'
        ? fakeHandoff('asked_for_human', { tokenChars: 1 })
        : fakeRewrite(message),
    );
    try {
      const { events } = await chatStream(t, { message });
      expect(tokensOf(events)).toBe(chatbot.handoff.message);
      expect(events.at(-1)?.data).toMatchObject({ handoff: true, reason: 'asked_for_human' });
      const { body } = await chat(t, { message });
      expect(body).toMatchObject({
        handoff: true,
        reason: 'asked_for_human',
        reply: chatbot.handoff.message,
      });
      expect(LEAK.test(body.reply)).toBe(false);
    } finally {
      groq.setDefault((req) => (req.kind === 'answer' ? fakeAnswer('OK [1]') : fakeRewrite('x')));
    }
  });

  it('should hand off on an explicit "talk to a human" without calling the LLM or counting it', async () => {
    const chatbot = getChatbot(t.deps.db, t.chatbotId);
    const usage = async () =>
      (await (await t.request(`/api/v1/chatbots/${t.chatbotId}/usage`)).json()).day.used;
    const usedBefore = await usage();
    const { body } = await chat(t, { message: 'I want to talk to a human agent please' });
    expect(body).toMatchObject({
      handoff: true,
      reason: 'asked_for_human',
      reply: chatbot.handoff.message,
    });
    expect(groq.requests.length).toBe(0);
    expect(await usage()).toBe(usedBefore);
  });

  it('should answer a greeting naturally without a handoff', async () => {
    groq.enqueue(fakeAnswer('Hello! How can I help you today?'));
    const { body } = await chat(t, { message: 'Hello there' });
    expect(body).toMatchObject({
      handoff: false,
      reason: null,
      reply: 'Hello! How can I help you today?',
    });
  });

  it('should end the reply with the URLs of the cited passages only, once each', async () => {
    await t.request(`/api/v1/chatbots/${t.chatbotId}`, {
      method: 'PATCH',
      json: { citations: 'links' },
    });
    try {
      groq.setDefault((req) =>
        req.kind === 'answer'
          ? (() => {
              // Cite the Canada passage twice and nothing else, whatever its number is.
              const sys = req.body.messages[0]?.content ?? '';
              const n = /\[(\d+)\] Title: Shipping to Canada/.exec(sys)?.[1] ?? '9';
              return fakeAnswer(`It costs 12 dollars [${n}]. It takes a week [${n}, 42].`);
            })()
          : fakeRewrite('x'),
      );
      const { body } = await chat(t, { message: 'How much is shipping to Canada and refund?' });
      expect(body.sources.length).toBeGreaterThan(1);
      expect(body.reply).toBe(
        'It costs 12 dollars. It takes a week.\n\nhttps://shop.test/shipping-canada',
      );
      const { events } = await chatStream(t, {
        message: 'How much is shipping to Canada and refund?',
      });
      expect(tokensOf(events)).toBe(body.reply);
    } finally {
      groq.setDefault((req) => (req.kind === 'answer' ? fakeAnswer('OK [1]') : fakeRewrite('x')));
      await t.request(`/api/v1/chatbots/${t.chatbotId}`, {
        method: 'PATCH',
        json: { citations: 'none' },
      });
    }
  });

  it('should store provenance with the bot message', async () => {
    groq.enqueue(fakeAnswer('Refunds take 5 business days [1].'));
    await chat(t, { message: 'How long does a refund take?', conversationId: 'prov-1' });
    const conversation = findConversationByExternalId(
      t.deps.db,
      t.chatbotId,
      'playground',
      'prov-1',
    );
    const stored = getConversationWithMessages(t.deps.db, conversation!.id)!;
    expect(stored.messages.map((m) => m.role)).toEqual(['visitor', 'bot']);
    const bot = stored.messages[1]!;
    expect(bot.handoffReason).toBeNull();
    // The stored record has exactly the shape its schema declares.
    const p = v.parse(v.strictObject(Provenance.entries), bot.provenance);
    expect(p.standaloneQuery).toBe('How long does a refund take?');
    expect(p.lexicalQuery).toBe('How long does a refund take?');
    expect(p.retrieval.length).toBeGreaterThan(0);
    expect(p.retrieval[0]?.fts).not.toBeNull();
    expect(p.citedChunkIds).toEqual([p.retrieval[0]!.chunkId]);
    expect(p.model).toBe('openai/gpt-oss-20b');
    expect(p.usage.promptTokens).toBeGreaterThan(0);
    expect(p.usage.costUsd).toBeGreaterThan(0);
    for (const key of ['retrieveMs', 'firstTokenMs', 'llmMs', 'totalMs', 'overheadMs'] as const) {
      expect(typeof p.latency[key]).toBe('number');
    }
  });

  it('should use the chatbot model override', async () => {
    await t.request(`/api/v1/chatbots/${t.chatbotId}`, {
      method: 'PATCH',
      json: { model: 'llama-3.3-70b-versatile' },
    });
    try {
      await chat(t, { message: 'How long does a refund take?' });
      expect(groq.requests[0]?.body.model).toBe('llama-3.3-70b-versatile');
      expect(groq.requests[0]?.body.reasoning_effort).toBeUndefined();
    } finally {
      await t.request(`/api/v1/chatbots/${t.chatbotId}`, {
        method: 'PATCH',
        json: { model: null },
      });
    }
  });
});

describe('answerMessage quota hooks', () => {
  /** A Crisp-like turn: the conversation and the visitor message stored by the caller. */
  const visitorTurn = (sessionId: string, message: string) => {
    const chatbot = getChatbot(t.deps.db, t.chatbotId);
    const conversation = getOrCreateConversation(
      t.deps.db,
      { chatbotId: chatbot.id, channel: 'crisp', externalId: sessionId },
      new Date(),
    );
    const visitor = addVisitorMessage(t.deps.db, conversation.id, { content: message }, new Date());
    return { chatbot, conversationId: conversation.id, visitorMessageId: visitor.id, message };
  };

  it('should hand off with the quota message and call no LLM when the reservation fails', async () => {
    const turn = visitorTurn('session_quota', 'How long does a refund take?');
    const result = await answerMessage(t.answer, {
      ...turn,
      quota: { reserve: () => false, release: () => {} },
    });
    expect(result).toMatchObject({
      handoff: true,
      reason: 'quota',
      reply: turn.chatbot.handoff.quotaMessage,
      llmCalled: false,
    });
    expect(groq.requests).toHaveLength(0);
  });

  it('should reserve once before the first call and release when the LLM produced nothing', async () => {
    const calls: string[] = [];
    const quota = {
      reserve: () => {
        calls.push('reserve');
        return true;
      },
      release: () => {
        calls.push('release');
      },
    };
    groq.enqueue({ status: 400 });
    const failed = await answerMessage(t.answer, {
      ...visitorTurn('session_release', 'How long does a refund take?'),
      quota,
    });
    expect(failed).toMatchObject({ handoff: true, reason: 'error', llmCalled: true });
    expect(calls).toEqual(['reserve', 'release']);
    calls.length = 0;
    groq.enqueue(fakeAnswer('Fine [1].'));
    const answered = await answerMessage(t.answer, {
      ...visitorTurn('session_release', 'Thanks, and the refund time?'),
      quota,
    });
    expect(answered.handoff).toBe(false);
    expect(calls).toEqual(['reserve']);
  });

  it('should stop, store no bot message and release the quota when aborted before any token', async () => {
    const turn = visitorTurn('session_abort', 'How long does a refund take?');
    groq.enqueue(fakeAnswer('too late', { firstTokenDelayMs: 5_000 }));
    const controller = new AbortController();
    const calls: string[] = [];
    const pending = answerMessage(t.answer, {
      ...turn,
      signal: controller.signal,
      quota: {
        reserve: () => {
          calls.push('reserve');
          // The operator takes over while the request is in flight.
          queueMicrotask(() => setTimeout(() => controller.abort(), 20));
          return true;
        },
        release: () => {
          calls.push('release');
        },
      },
    });
    const result = await pending;
    expect(result).toMatchObject({ aborted: true, botMessageId: null, reply: '' });
    expect(calls).toEqual(['reserve', 'release']);
    expect(await groq.requests[0]?.closed).toBe('client_aborted');
    const stored = getConversationWithMessages(t.deps.db, turn.conversationId)!;
    expect(stored.messages.map((m) => m.role)).toEqual(['visitor']);
  });
});

describe('POST /chat and the quota', () => {
  it('should count playground turns and hand off with the quota text once the day is used up', async () => {
    const q = await chatApp(groq, {}, { quota: { dailyMessages: 1 } });
    try {
      groq.enqueue(fakeAnswer('Refunds take 5 business days [1].'));
      const first = await chat(q, { message: 'How long does a refund take?' });
      expect(first.body.handoff).toBe(false);
      const callsAfterFirst = groq.requests.length;

      const second = await chat(q, { message: 'And shipping to Canada?' });
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ handoff: true, reason: 'quota' });
      expect(second.body.reply.length).toBeGreaterThan(0);
      expect(groq.requests.length).toBe(callsAfterFirst);

      const usage = await (await q.request(`/api/v1/chatbots/${q.chatbotId}/usage`)).json();
      expect(usage.day).toMatchObject({ used: 1, limit: 1, remaining: 0 });
    } finally {
      await q.close();
    }
  });
});

describe('handoff texts in the visitor language', () => {
  it('should hand off with the configured translation of the visitor language', async () => {
    const fr = 'Je transmets votre demande à un membre de notre équipe.';
    const q = await chatApp(groq, {}, { handoff: { translations: { fr: { message: fr } } } });
    try {
      const message = 'Je veux parler à un humain, pas à un robot';
      groq.enqueue(fakeRewrite(message), fakeHandoff('asked_for_human'));
      const { body } = await chat(q, { message });
      expect(body).toMatchObject({ handoff: true, reason: 'asked_for_human', reply: fr });

      // An English visitor gets the default text.
      groq.enqueue(fakeHandoff('no_answer'));
      const english = await chat(q, { message: 'What is the meaning of life, the universe?' });
      expect(english.body.reply).toBe(
        'Let me bring in a member of our team; they will reply here shortly.',
      );
    } finally {
      await q.close();
    }
  });
});

describe('handoffText', () => {
  const bot = (reply: string, translations: Record<string, Record<string, string>>) =>
    ({
      language: { reply, knowledge: 'en' },
      handoff: {
        muteHours: 24,
        message: 'default message',
        fallbackMessage: 'default fallback',
        quotaMessage: 'default quota',
        translations,
      },
    }) as unknown as Parameters<typeof handoffText>[0];

  it('should pick the visitor language, its primary subtag, or the default text', () => {
    const b = bot('auto', { fr: { message: 'fr message' }, de: { quotaMessage: 'de quota' } });
    expect(handoffText(b, 'asked_for_human', 'fr')).toBe('fr message');
    expect(handoffText(b, 'no_answer', 'fr-CA')).toBe('fr message');
    expect(handoffText(b, 'error', 'fr')).toBe('default fallback');
    expect(handoffText(b, 'quota', 'de')).toBe('de quota');
    expect(handoffText(b, 'no_answer', null)).toBe('default message');
  });

  it('should follow a fixed reply language whatever the visitor writes', () => {
    const b = bot('de', { de: { message: 'de message' } });
    expect(handoffText(b, 'no_answer', 'fr')).toBe('de message');
  });
});
