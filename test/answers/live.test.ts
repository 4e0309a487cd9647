// Opt-in live check against the real Groq API: LIVE_LLM=1 GROQ_API_KEY=… bun test test/answers/live.test.ts
// Never part of the default suite or CI (it is skipped unless LIVE_LLM=1).
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { type ChatApp, chat, chatApp } from './setup.ts';

const live = Bun.env.LIVE_LLM === '1' && Boolean(Bun.env.GROQ_API_KEY);

/** Answerable questions and the source URL the reply must cite; out-of-scope ones must hand off. */
const GOLDEN = {
  answerable: [
    { question: 'How long does it take to get my money back?', url: 'https://shop.test/refunds' },
    { question: 'How much is delivery to Canada?', url: 'https://shop.test/shipping-canada' },
    {
      question: 'Combien coûte la livraison au Canada ?',
      url: 'https://shop.test/shipping-canada',
    },
    { question: 'When is your warehouse team working?', url: 'https://shop.test/hours' },
  ],
  outOfScope: [
    'Do you sell gift cards for Christmas?',
    'What is the capital of Australia?',
    'Can I pay with Bitcoin?',
  ],
  humans: ['I want to talk to a real person please', 'Ich möchte mit einem Menschen sprechen'],
  smallTalk: ['Hello!', 'Thanks a lot, that helped'],
};

describe.skipIf(!live)('live Groq golden set (LIVE_LLM=1)', () => {
  let t: ChatApp;
  beforeAll(async () => {
    t = await chatApp(
      null,
      {
        GROQ_API_KEY: Bun.env.GROQ_API_KEY ?? '',
        ...(Bun.env.GROQ_BASE_URL ? { GROQ_BASE_URL: Bun.env.GROQ_BASE_URL } : {}),
        ...(Bun.env.GROQ_MODEL ? { GROQ_MODEL: Bun.env.GROQ_MODEL } : {}),
      },
      { citations: 'links' },
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  for (const { question, url } of GOLDEN.answerable) {
    it(`should answer and cite ${url} for "${question}"`, async () => {
      const { body } = await chat(t, { message: question });
      expect(body.handoff).toBe(false);
      expect(body.reply).toContain(url);
      expect(body.reply).not.toMatch(/\[\[|\]\]/);
    }, 60_000);
  }

  for (const question of GOLDEN.outOfScope) {
    it(`should hand off for "${question}"`, async () => {
      const { body } = await chat(t, { message: question });
      expect(body).toMatchObject({ handoff: true, reason: 'no_answer' });
    }, 60_000);
  }

  for (const question of GOLDEN.humans) {
    it(`should hand off to a human for "${question}"`, async () => {
      const { body } = await chat(t, { message: question });
      expect(body).toMatchObject({ handoff: true, reason: 'asked_for_human' });
    }, 60_000);
  }

  for (const message of GOLDEN.smallTalk) {
    it(`should reply naturally to "${message}"`, async () => {
      const { body } = await chat(t, { message });
      expect(body.handoff).toBe(false);
      expect(body.reply.length).toBeGreaterThan(0);
    }, 60_000);
  }
});
