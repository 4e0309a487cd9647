// The conversation routes: the Crisp list (channel filter in SQL, pages), one conversation, pause
// and resume; errors and auth.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { addVisitorMessage, getOrCreateConversation } from '../../src/conversations/service.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

async function newChatbot() {
  const res = await t.request('/api/v1/chatbots', {
    method: 'POST',
    json: { name: `conv-${crypto.randomUUID().slice(0, 8)}` },
  });
  return ((await res.json()) as { id: string }).id;
}

/** A conversation of `channel`, last active at T0 + `offsetMs`. */
const conversation = (
  chatbotId: string,
  channel: 'crisp' | 'playground',
  externalId: string,
  offsetMs: number,
) =>
  getOrCreateConversation(
    t.deps.db,
    { chatbotId, channel, externalId, ...(channel === 'crisp' ? { websiteId: 'w1' } : {}) },
    new Date(T0 + offsetMs),
  );

type Page = { items: { sessionId: string }[]; nextCursor: string | null };
const list = async (chatbotId: string, query = '') => {
  const res = await t.request(`/api/v1/chatbots/${chatbotId}/conversations${query}`);
  return { status: res.status, body: (await res.json()) as Page };
};

describe('GET …/conversations', () => {
  it('should list the Crisp conversations of a chatbot with many newer playground chats', async () => {
    const id = await newChatbot();
    conversation(id, 'crisp', 'session_old', 0);
    // More playground chats than any in-memory window, every one of them newer.
    t.deps.db.transaction(() => {
      for (let i = 0; i < 1_500; i++) conversation(id, 'playground', `chat-${i}`, 1_000 + i);
    })();
    const { status, body } = await list(id);
    expect(status).toBe(200);
    expect(body.items.map((c) => c.sessionId)).toEqual(['session_old']);
    expect(body.nextCursor).toBeNull();
  });

  it('should page through every conversation once, most recent first', async () => {
    const id = await newChatbot();
    const sessions = Array.from({ length: 7 }, (_, i) => `s${i}`);
    // Two share a last-activity time: the page boundary must not lose or repeat either.
    for (const [i, s] of sessions.entries()) conversation(id, 'crisp', s, i === 4 ? 3 : i);
    conversation(id, 'playground', 'not-listed', 10);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await list(id, query);
      expect(status).toBe(200);
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items.map((c) => c.sessionId));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    expect(seen.slice(0, 2)).toEqual(['s6', 's5']);
    expect(seen.at(-1)).toBe('s0');
    // Without a limit, all of them on one page.
    expect((await list(id)).body.items.map((c) => c.sessionId)).toEqual(seen);
  });

  it('should refuse a bad limit or cursor with 422, without echoing it', async () => {
    const id = await newChatbot();
    for (const query of [
      '?limit=0',
      '?limit=201',
      '?limit=abc',
      '?limit=-1',
      '?cursor=',
      '?cursor=not%20base64!',
      `?cursor=${Buffer.from('{"a":1}').toString('base64url')}`,
      `?cursor=${Buffer.from('"ab"').toString('base64url')}`,
      `?cursor=${'A'.repeat(401)}`,
    ]) {
      const res = await t.request(`/api/v1/chatbots/${id}/conversations${query}`);
      expect(res.status).toBe(422);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.message).not.toContain('AAAAAAAA');
    }
  });
});

describe('GET …/conversations/:sessionId', () => {
  it('should show the messages with roles and who owns the conversation', async () => {
    const id = await newChatbot();
    const c = conversation(id, 'crisp', 'session_detail', 0);
    addVisitorMessage(t.deps.db, c.id, { content: 'Hello', fingerprint: '42' }, new Date(T0));
    const res = await t.request(`/api/v1/chatbots/${id}/conversations/session_detail`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      sessionId: 'session_detail',
      websiteId: 'w1',
      bot: { state: 'bot', until: null },
      messages: [
        {
          role: 'visitor',
          content: 'Hello',
          fingerprint: '42',
          handoffReason: null,
          provenance: null,
        },
      ],
    });
    expect((body.messages as object[])[0]).not.toHaveProperty('conversationId');
  });

  it('should answer 404 for an unknown chatbot or session, and for a playground chat', async () => {
    const id = await newChatbot();
    conversation(id, 'playground', 'chat-1', 0);
    for (const path of [
      `/api/v1/chatbots/${id}/conversations/session_none`,
      `/api/v1/chatbots/${id}/conversations/chat-1`,
      '/api/v1/chatbots/cb_nope/conversations/s1',
      '/api/v1/chatbots/cb_nope/conversations',
    ]) {
      expect((await t.request(path)).status).toBe(404);
    }
    expect(
      (
        await t.request(`/api/v1/chatbots/${id}/conversations/session_none/pause`, {
          method: 'POST',
        })
      ).status,
    ).toBe(404);
  });
});

describe('pause and resume', () => {
  it('should take the conversation from the bot (for `hours`) and give it back', async () => {
    const id = await newChatbot();
    conversation(id, 'crisp', 'session_pause', 0);
    t.clock.pin(new Date(T0));
    try {
      const base = `/api/v1/chatbots/${id}/conversations/session_pause`;
      const paused = await t.request(`${base}/pause`, { method: 'POST', json: { hours: 2 } });
      expect(paused.status).toBe(200);
      expect(((await paused.json()) as { bot: unknown }).bot).toEqual({
        state: 'human',
        until: new Date(T0 + 2 * 3_600_000).toISOString(),
      });
      const resumed = await t.request(`${base}/resume`, { method: 'POST' });
      expect(((await resumed.json()) as { bot: unknown }).bot).toEqual({
        state: 'bot',
        until: null,
      });
      expect(
        (await t.request(`${base}/pause`, { method: 'POST', json: { hours: -1 } })).status,
      ).toBe(422);
    } finally {
      t.clock.unpin();
    }
  });
});

describe('conversation routes (auth)', () => {
  it('should answer 401 on every conversation route without the admin token', async () => {
    const id = await newChatbot();
    const calls: [string, string][] = [
      ['GET', `/api/v1/chatbots/${id}/conversations`],
      ['GET', `/api/v1/chatbots/${id}/conversations/s1`],
      ['POST', `/api/v1/chatbots/${id}/conversations/s1/pause`],
      ['POST', `/api/v1/chatbots/${id}/conversations/s1/resume`],
    ];
    for (const [method, path] of calls) {
      expect((await t.request(path, { method, auth: false })).status).toBe(401);
      expect((await t.request(path, { method, auth: 'wrong-token' })).status).toBe(401);
    }
  });
});
