// The dry run (`POST …/integrations/crisp/test`): the whole pipeline and a live credential check,
// nothing posted to Crisp and nothing left behind in any conversation.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { WEBSITE_ID } from '../helpers/fake-crisp.ts';
import { fakeAnswer, fakeHandoff } from '../helpers/fake-groq.ts';
import { type CrispHarness, startCrispHarness } from './harness.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
});
afterAll(() => h.close());

const path = (id: string, tail = '') => `/api/v1/chatbots/${id}/integrations/crisp${tail}`;

/** Conversations and messages of the chatbot, whatever their channel. */
const leftBehind = (chatbotId: string) =>
  h.deps.db
    .query<{ conversations: number; messages: number }, [string, string]>(
      `SELECT (SELECT COUNT(*) FROM conversations WHERE chatbot_id = ?) AS conversations,
         (SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE c.chatbot_id = ?) AS messages`,
    )
    .get(chatbotId, chatbotId);

describe('crisp dry run', () => {
  it('should dry-run the test route: what would be posted, a live check, nothing posted', async () => {
    const { bot } = await h.connectedBot({ persona: { nickname: 'Ada' } });
    const writes = () => h.crisp.calls.filter((c) => c.method !== 'GET').length;
    const before = writes();
    h.groq.enqueue(fakeAnswer('We ship worldwide.'));
    const res = await h.admin(path(bot.id, '/test'), {
      method: 'POST',
      json: { message: 'Do you ship abroad?' },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.credentials).toEqual({ ok: true, status: 200, reason: null });
    expect(body.question).toBe('Do you ship abroad?');
    expect(body.answer.reply).toBe('We ship worldwide.');
    expect(body.wouldPost).toEqual([
      {
        kind: 'reply',
        method: 'POST',
        path: `/v1/website/${WEBSITE_ID}/conversation/{sessionId}/message`,
        body: {
          type: 'text',
          from: 'operator',
          origin: 'chat',
          content: 'We ship worldwide.',
          user: { nickname: 'Ada' },
        },
      },
    ]);
    // Nothing was written to Crisp: no message, no typing indicator, no state change.
    expect(writes()).toBe(before);
    // The dry run leaves no conversation behind, in the Crisp list or in any channel.
    const list = await (await h.admin(`/api/v1/chatbots/${bot.id}/conversations`)).json();
    expect(list.items).toEqual([]);
    expect(leftBehind(bot.id)).toEqual({ conversations: 0, messages: 0 });
    // Without a body, a sample question is used.
    const sample = await (await h.admin(path(bot.id, '/test'), { method: 'POST' })).json();
    expect(sample.question.length).toBeGreaterThan(0);
    expect(leftBehind(bot.id)).toEqual({ conversations: 0, messages: 0 });
  });

  it('should show a handoff as the text, the state change and the note it would post', async () => {
    const { bot } = await h.connectedBot({ handoff: { message: 'A teammate will reply.' } });
    h.groq.enqueue(fakeHandoff('no_answer'));
    const body = await (
      await h.admin(path(bot.id, '/test'), { method: 'POST', json: { message: 'Gift cards?' } })
    ).json();
    expect(body.answer).toMatchObject({ handoff: true, reason: 'no_answer' });
    const base = `/v1/website/${WEBSITE_ID}/conversation/{sessionId}`;
    expect(
      body.wouldPost.map((p: { kind: string; method: string; path: string }) => [
        p.kind,
        p.method,
        p.path,
      ]),
    ).toEqual([
      ['handoff', 'POST', `${base}/message`],
      ['state', 'PATCH', `${base}/state`],
      ['note', 'POST', `${base}/message`],
    ]);
    expect(body.wouldPost[0].body.content).toBe('A teammate will reply.');
    expect(body.wouldPost[1].body).toEqual({ state: 'unresolved' });
    expect(body.wouldPost[2].body.content).toContain('Gift cards?');
    expect(leftBehind(bot.id)).toEqual({ conversations: 0, messages: 0 });
  });

  it('should report a failing live check in the test route', async () => {
    const { bot } = await h.connectedBot();
    h.crisp.script('check', { status: 401, reason: 'invalid_session' });
    const body = await (await h.admin(path(bot.id, '/test'), { method: 'POST' })).json();
    expect(body.credentials.ok).toBe(false);
    expect(body.credentials.status).toBe(401);
    const status = await (await h.admin(path(bot.id))).json();
    expect(status.health.healthy).toBe(false);
    expect(status.health.lastErrorStatus).toBe(401);
  });
});
