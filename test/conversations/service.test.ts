import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import {
  appendMessage,
  getConversationWithMessages,
  getOrCreateConversation,
  listConversations,
  recentHistory,
  setMessageFingerprint,
} from '../../src/conversations/service.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let chatbotId: string;

beforeAll(async () => {
  t = await buildTestApp();
  const res = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Conv' } });
  chatbotId = ((await res.json()) as { id: string }).id;
});
afterAll(async () => {
  await t.close();
});

describe('conversations service', () => {
  it('should return the same conversation for the same key', () => {
    const key = { chatbotId, channel: 'crisp' as const, externalId: 'session_1', websiteId: 'w1' };
    const a = getOrCreateConversation(t.deps.db, key, new Date());
    const b = getOrCreateConversation(t.deps.db, key, new Date());
    expect(b.id).toBe(a.id);
    expect(a).toMatchObject({ botState: 'bot', mutedUntil: null, websiteId: 'w1' });
    const other = getOrCreateConversation(t.deps.db, { ...key, channel: 'playground' }, new Date());
    expect(other.id).not.toBe(a.id);
    const ids = (channel: 'crisp' | 'playground') =>
      listConversations(t.deps.db, chatbotId, { channel, limit: 100 }).items.map((c) => c.id);
    expect(ids('crisp')).toEqual([a.id]);
    expect(ids('playground')).toEqual([other.id]);
  });

  it('should keep history in order, within the token budget and after history_since', () => {
    const c = getOrCreateConversation(
      t.deps.db,
      { chatbotId, channel: 'crisp', externalId: 'session_hist' },
      new Date(),
    );
    const old = appendMessage(
      t.deps.db,
      c.id,
      { role: 'visitor', content: 'old question' },
      new Date(),
    );
    t.deps.db
      .query('UPDATE conversations SET history_since = ? WHERE id = ?')
      .run(new Date(Date.parse(old.createdAt) + 1).toISOString(), c.id);
    const later = new Date(Date.now() + 10);
    appendMessage(t.deps.db, c.id, { role: 'visitor', content: 'a'.repeat(400) }, later);
    appendMessage(t.deps.db, c.id, { role: 'bot', content: 'second' }, later);
    appendMessage(t.deps.db, c.id, { role: 'operator', content: 'third' }, later);
    const current = appendMessage(t.deps.db, c.id, { role: 'visitor', content: 'now' }, later);
    expect(
      recentHistory(t.deps.db, c.id, {
        tokensMax: 10_000,
        messagesMax: 10,
        excludeMessageId: current.id,
      }),
    ).toEqual([
      { role: 'visitor', content: 'a'.repeat(400) },
      { role: 'bot', content: 'second' },
      { role: 'operator', content: 'third' },
    ]);
    // A small budget keeps the newest messages that fit and drops the long old one.
    expect(
      recentHistory(t.deps.db, c.id, {
        tokensMax: 30,
        messagesMax: 10,
        excludeMessageId: current.id,
      }),
    ).toEqual([
      { role: 'bot', content: 'second' },
      { role: 'operator', content: 'third' },
    ]);
    setMessageFingerprint(t.deps.db, current.id, 123456);
    const read = getConversationWithMessages(t.deps.db, c.id)!;
    expect(read.messages.map((m) => m.content)).toEqual([
      'old question',
      'a'.repeat(400),
      'second',
      'third',
      'now',
    ]);
    expect(read.messages.at(-1)?.fingerprint).toBe('123456');
  });

  it('should delete conversations and messages with their chatbot', async () => {
    const res = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Gone' } });
    const id = ((await res.json()) as { id: string }).id;
    const c = getOrCreateConversation(
      t.deps.db,
      { chatbotId: id, channel: 'playground', externalId: 'x' },
      new Date(),
    );
    appendMessage(t.deps.db, c.id, { role: 'visitor', content: 'hi' }, new Date());
    expect((await t.request(`/api/v1/chatbots/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(getConversationWithMessages(t.deps.db, c.id)).toBeUndefined();
    const left = t.deps.db
      .query<{ n: number }, [string]>(
        'SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?',
      )
      .get(c.id);
    expect(left?.n).toBe(0);
  });
});
