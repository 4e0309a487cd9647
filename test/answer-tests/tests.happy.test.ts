// Answer tests: add by hand or from a real playground turn, list, read, remove.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test';
import {
  findConversationByExternalId,
  getConversationWithMessages,
} from '../../src/conversations/service.ts';
import { type ChatApp, chat, chatApp } from '../answers/setup.ts';
import { type FakeGroq, fakeAnswer, fakeHandoff, startFakeGroq } from '../helpers/fake-groq.ts';
import { addTest, sourceIds, testsPath } from './setup.ts';

let groq: FakeGroq;
let t: ChatApp;
let sources: Record<string, string>;

beforeAll(async () => {
  groq = await startFakeGroq();
  t = await chatApp(groq);
  sources = await sourceIds(t);
});
afterAll(async () => {
  await t.close();
  await groq.stop();
});
beforeEach(() => groq.reset());

/** The visitor message of a playground turn, and the turn's bot message. */
async function playgroundTurn(message: string, conversationId: string) {
  await chat(t, { message, conversationId });
  const conversation = findConversationByExternalId(
    t.deps.db,
    t.chatbotId,
    'playground',
    conversationId,
  );
  const messages = getConversationWithMessages(t.deps.db, conversation!.id)!.messages;
  return {
    visitor: messages.find((m) => m.role === 'visitor')!,
    bot: messages.find((m) => m.role === 'bot')!,
  };
}

describe('answer tests (happy)', () => {
  it('should add a test written by hand with its defaults, list it, read it and remove it', async () => {
    const refund = sources['Refund policy']!;
    const created = await addTest(t, {
      question: '  How long does a refund take?  ',
      expect: 'answer',
      mustCite: [refund, refund],
      mustContain: ['5 business days'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^test_/),
      question: 'How long does a refund take?',
      expect: 'answer',
      mustCite: [refund],
      mustContain: ['5 business days'],
      mustNotContain: [],
      language: null,
      fromMessageId: null,
      createdAt: expect.any(String),
      lastResult: null,
    });
    const second = await addTest(t, {
      question: 'I want a person',
      expect: 'handoff',
      language: 'en',
    });
    expect(second.body).toMatchObject({ expect: 'handoff', mustCite: [], language: 'en' });

    const list = await (await t.request(testsPath(t.chatbotId))).json();
    expect(list.items.map((x: { id: string }) => x.id)).toEqual([created.body.id, second.body.id]);
    const one = await t.request(testsPath(t.chatbotId, `/${created.body.id}`));
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual(created.body);

    const removed = await t.request(testsPath(t.chatbotId, `/${created.body.id}`), {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
    expect((await t.request(testsPath(t.chatbotId, `/${created.body.id}`))).status).toBe(404);
    const after = await (await t.request(testsPath(t.chatbotId))).json();
    expect(after.items.map((x: { id: string }) => x.id)).toEqual([second.body.id]);
    await t.request(testsPath(t.chatbotId, `/${second.body.id}`), { method: 'DELETE' });
  });

  it('should make a test from an answered playground turn: its question, expect answer, the sources it cited', async () => {
    groq.enqueue(fakeAnswer('Refunds are paid within 5 business days [1].'));
    const { visitor, bot } = await playgroundTurn('How long does a refund take?', 'turn-answered');
    expect(bot.handoffReason).toBeNull();
    const created = await addTest(t, { fromMessageId: visitor.id });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      question: 'How long does a refund take?',
      expect: 'answer',
      mustCite: [sources['Refund policy']],
      mustContain: [],
      fromMessageId: visitor.id,
    });
  });

  it('should make a handoff test from a turn the bot handed off, and take refinements given with it', async () => {
    groq.enqueue(fakeHandoff('no_answer'));
    const { visitor, bot } = await playgroundTurn('Do you ship to Mars?', 'turn-handoff');
    expect(bot.handoffReason).toBe('no_answer');
    const created = await addTest(t, { fromMessageId: visitor.id, mustNotContain: ['Mars'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      question: 'Do you ship to Mars?',
      expect: 'handoff',
      mustCite: [],
      mustNotContain: ['Mars'],
      fromMessageId: visitor.id,
    });
  });
});
