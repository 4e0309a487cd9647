// Answer-test routes refuse what they cannot use: bounds and contradictions are 422 (never echoing
// the input), unknown chatbots, tests, runs and messages 404.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import {
  CHECK_ITEMS_MAX,
  CHECK_TEXT_CHARS_MAX,
  TESTS_PER_CHATBOT_MAX,
} from '../../src/answer-tests/model.ts';
import { createTest } from '../../src/answer-tests/service.ts';
import { MESSAGE_CHARS_MAX } from '../../src/answers/model.ts';
import {
  addVisitorMessage,
  findConversationByExternalId,
  getConversationWithMessages,
  getOrCreateConversation,
} from '../../src/conversations/service.ts';
import { type ChatApp, chat, chatApp } from '../answers/setup.ts';
import { type FakeGroq, startFakeGroq } from '../helpers/fake-groq.ts';
import { addTest, sourceIds, testsPath } from './setup.ts';

let groq: FakeGroq;
let t: ChatApp;
let refund: string;
let otherChatbot: string;

beforeAll(async () => {
  groq = await startFakeGroq();
  t = await chatApp(groq);
  refund = (await sourceIds(t))['Refund policy']!;
  const other = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Other' } });
  otherChatbot = (await other.json()).id;
});
afterAll(async () => {
  await t.close();
  await groq.stop();
});

const SECRET = 'sk-live-should-never-come-back';

async function expect422(json: unknown, message?: RegExp) {
  const res = await addTest(t, json);
  expect(res.status).toBe(422);
  expect(res.body.error.code).toBe('VALIDATION_FAILED');
  expect(res.body.error.message).not.toContain(SECRET);
  if (message) expect(res.body.error.message).toMatch(message);
}

describe('answer tests (errors)', () => {
  it('should refuse bodies outside the bounds with 422', async () => {
    const q = 'How long does a refund take?';
    await expect422({ question: 'x'.repeat(MESSAGE_CHARS_MAX + 1), expect: 'answer' }, /question/);
    await expect422({ question: '   ', expect: 'answer' }, /question/);
    await expect422({ question: q, expect: 'maybe' }, /expect/);
    await expect422({ question: q, expect: 'answer', mustContain: [''] }, /mustContain/);
    await expect422(
      { question: q, expect: 'answer', mustContain: ['x'.repeat(CHECK_TEXT_CHARS_MAX + 1)] },
      /mustContain/,
    );
    await expect422(
      { question: q, expect: 'answer', mustNotContain: Array(CHECK_ITEMS_MAX + 1).fill('a') },
      /mustNotContain/,
    );
    await expect422(
      { question: q, expect: 'answer', mustCite: Array(CHECK_ITEMS_MAX + 1).fill(refund) },
      /mustCite/,
    );
    await expect422({ question: q, expect: 'answer', language: 'German' }, /language/);
    await expect422({ question: q, expect: 'answer', token: SECRET }, /token/);
    await expect422({ question: SECRET, expect: 'answer', mustCite: 'src_1' }, /mustCite/);
  });

  it('should refuse contradictions and unknown sources with a plain 422', async () => {
    const q = 'How long does a refund take?';
    await expect422({ question: q }, /expect: required with question/);
    await expect422({ expect: 'answer' }, /question \(with expect\) or fromMessageId is required/);
    await expect422({ question: q, expect: 'answer', fromMessageId: 'msg_1' }, /not both/);
    await expect422(
      { question: q, expect: 'handoff', mustCite: [refund] },
      /a handoff cites nothing/,
    );
    await expect422(
      { question: q, expect: 'answer', mustCite: [refund, SECRET] },
      /mustCite\.1: not a source of this chatbot/,
    );
    const list = await (await t.request(testsPath(t.chatbotId))).json();
    expect(list.items).toEqual([]);
  });

  it('should refuse a message that is not a usable visitor turn of this chatbot', async () => {
    await chat(t, { message: 'How long does a refund take?', conversationId: 'err-turn' });
    const conversation = findConversationByExternalId(
      t.deps.db,
      t.chatbotId,
      'playground',
      'err-turn',
    )!;
    const messages = getConversationWithMessages(t.deps.db, conversation.id)!.messages;
    const bot = messages.find((m) => m.role === 'bot')!;
    // A visitor message the bot has not answered yet.
    const waiting = addVisitorMessage(
      t.deps.db,
      conversation.id,
      { content: 'Hello?' },
      new Date(),
    );
    // A turn that failed: the LLM answered 500 → handoff with reason `error`.
    groq.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    await chat(t, { message: 'Are you there?', conversationId: 'err-failed' });
    const failed = getConversationWithMessages(
      t.deps.db,
      findConversationByExternalId(t.deps.db, t.chatbotId, 'playground', 'err-failed')!.id,
    )!.messages;
    expect(failed.find((m) => m.role === 'bot')?.handoffReason).toBe('error');
    // Another chatbot's visitor message.
    const elsewhere = getOrCreateConversation(
      t.deps.db,
      { chatbotId: otherChatbot, channel: 'playground', externalId: 'x' },
      new Date(),
    );
    const foreign = addVisitorMessage(t.deps.db, elsewhere.id, { content: 'Hi' }, new Date());

    await expect422({ fromMessageId: bot.id }, /must be a visitor message/);
    await expect422({ fromMessageId: waiting.id }, /has not answered this message/);
    await expect422(
      { fromMessageId: failed.find((m) => m.role === 'visitor')!.id },
      /could not answer this message \(error\)/,
    );
    for (const id of [foreign.id, 'msg_unknown']) {
      const res = await addTest(t, { fromMessageId: id });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
  });

  it(`should refuse test number ${TESTS_PER_CHATBOT_MAX + 1} of a chatbot with 422`, async () => {
    const created = await (
      await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Full' } })
    ).json();
    for (let i = 0; i < TESTS_PER_CHATBOT_MAX; i++) {
      createTest(t.deps, created.id, { question: `Question ${i}`, expect: 'answer' });
    }
    const res = await t.request(testsPath(created.id), {
      method: 'POST',
      json: { question: 'One more', expect: 'answer' },
    });
    expect(res.status).toBe(422);
    expect((await res.json()).error.message).toBe(
      `A chatbot has at most ${TESTS_PER_CHATBOT_MAX} answer tests; delete one first`,
    );
  });

  it('should answer 404 for an unknown chatbot, test or run, and for another chatbot’s run or test', async () => {
    const created = await addTest(t, { question: 'Where are you?', expect: 'handoff' });
    const started = await t.request(testsPath(t.chatbotId, '/run'), { method: 'POST' });
    const { runId } = await started.json();
    const paths: [string, string][] = [
      ['GET', testsPath('cb_unknown')],
      ['POST', testsPath('cb_unknown')],
      ['POST', testsPath('cb_unknown', '/run')],
      ['GET', testsPath('cb_unknown', '/runs')],
      ['GET', testsPath(t.chatbotId, '/test_unknown')],
      ['DELETE', testsPath(t.chatbotId, '/test_unknown')],
      ['GET', testsPath(t.chatbotId, '/runs/run_unknown')],
      ['GET', testsPath(otherChatbot, `/${created.body.id}`)],
      ['DELETE', testsPath(otherChatbot, `/${created.body.id}`)],
      ['GET', testsPath(otherChatbot, `/runs/${runId}`)],
    ];
    for (const [method, path] of paths) {
      const res = await t.request(path, {
        method,
        json: method === 'POST' ? { question: 'q', expect: 'answer' } : undefined,
      });
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect((await res.json()).error.code).toBe('NOT_FOUND');
    }
    // The test is still there for its own chatbot.
    expect((await t.request(testsPath(t.chatbotId, `/${created.body.id}`))).status).toBe(200);
  });
});
