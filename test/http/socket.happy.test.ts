// Happy paths over a real socket (startServer on 127.0.0.1:0 and fetch): the playground's SSE
// stream, plan CRUD, usage and source CRUD, which other tests drive in-process only.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { rmSync } from 'node:fs';
import { type RunningServer, startServer } from '../../src/server.ts';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.ts';
import { type FakeGroq, fakeAnswer, startFakeGroq } from '../helpers/fake-groq.ts';

let groq: FakeGroq;
let t: TestApp;
let server: RunningServer;
let chatbotId: string;

const api = (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  headers.set('authorization', `Bearer ${ADMIN_TOKEN}`);
  if (json !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${server.url}${path}`, {
    ...rest,
    headers,
    body: json !== undefined ? JSON.stringify(json) : rest.body,
  });
};

beforeAll(async () => {
  groq = await startFakeGroq();
  t = await buildTestApp({
    GROQ_BASE_URL: groq.baseUrl,
    GROQ_API_KEY: 'test-groq-key',
    DEFAULT_MONTHLY_MESSAGES: '100',
    HOST: '127.0.0.1',
    PORT: '0',
  });
  server = startServer(t.deps, t.app);
  const res = await api('/api/v1/chatbots', { method: 'POST', json: { name: 'Socket shop' } });
  expect(res.status).toBe(201);
  chatbotId = (await res.json()).id;
});
afterAll(async () => {
  // stop() closes storage itself; only the temp dir is left.
  await server.stop('test');
  rmSync(t.dir, { recursive: true, force: true });
  await groq.stop();
});

/** Parses an SSE body into its events, in order. */
function sseEvents(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
      return { event, data: JSON.parse(data) };
    });
}

describe('sources over a real socket', () => {
  it('should create, list, read, refresh and delete a text source, searchable in between', async () => {
    const created = await api(`/api/v1/chatbots/${chatbotId}/sources`, {
      method: 'POST',
      json: {
        type: 'text',
        title: 'Refund policy',
        text: 'Refunds are paid back within 5 business days after we receive the parcel.',
      },
    });
    expect(created.status).toBe(201);
    const source = await created.json();
    expect(source).toMatchObject({ type: 'text', title: 'Refund policy', status: 'ready' });
    expect(source.chunkCount).toBeGreaterThan(0);

    const list = await (await api(`/api/v1/chatbots/${chatbotId}/sources`)).json();
    expect(list.items.map((s: { id: string }) => s.id)).toContain(source.id);
    const read = await api(`/api/v1/chatbots/${chatbotId}/sources/${source.id}`);
    expect(read.status).toBe(200);
    expect((await read.json()).id).toBe(source.id);

    const search = await api(`/api/v1/chatbots/${chatbotId}/search`, {
      method: 'POST',
      json: { query: 'refund business days' },
    });
    expect(search.status).toBe(200);
    expect((await search.json()).hits[0].sourceId).toBe(source.id);

    const refreshed = await api(`/api/v1/chatbots/${chatbotId}/sources/${source.id}/refresh`, {
      method: 'POST',
    });
    expect(refreshed.status).toBe(200);
    expect((await refreshed.json()).status).toBe('ready');

    const qa = await api(`/api/v1/chatbots/${chatbotId}/sources`, {
      method: 'POST',
      json: { type: 'qa', question: 'Do you ship to Canada?', answer: 'Yes, for 12 dollars.' },
    });
    expect(qa.status).toBe(201);

    const removed = await api(`/api/v1/chatbots/${chatbotId}/sources/${source.id}`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
    expect((await api(`/api/v1/chatbots/${chatbotId}/sources/${source.id}`)).status).toBe(404);
    const after = await (
      await api(`/api/v1/chatbots/${chatbotId}/search`, {
        method: 'POST',
        json: { query: 'refund business days' },
      })
    ).json();
    expect(after.hits.map((h: { sourceId: string }) => h.sourceId)).not.toContain(source.id);
  });
});

describe('playground over a real socket', () => {
  it('should stream the reply as SSE: token events, then sources, then done', async () => {
    await api(`/api/v1/chatbots/${chatbotId}/sources`, {
      method: 'POST',
      json: { type: 'text', title: 'Hours', text: 'Our shop opens Monday to Friday at nine.' },
    });
    groq.enqueue(fakeAnswer('We open at nine on weekdays [1].'));
    const res = await api(`/api/v1/chatbots/${chatbotId}/chat`, {
      method: 'POST',
      headers: { accept: 'text/event-stream' },
      json: { message: 'When do you open?', conversationId: 'socket-1' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toStartWith('text/event-stream');
    expect(res.headers.get('x-conversation-id')).toBe('socket-1');
    const events = sseEvents(await res.text());
    const names = events.map((e) => e.event);
    expect(names.at(-2)).toBe('sources');
    expect(names.at(-1)).toBe('done');
    expect(names.slice(0, -2).every((n) => n === 'token')).toBe(true);
    const text = events
      .filter((e) => e.event === 'token')
      .map((e) => (e.data as { text: string }).text)
      .join('');
    expect(text).toBe('We open at nine on weekdays.');
    const sources = events.at(-2)!.data as { title: string }[];
    expect(sources[0]?.title).toBe('Hours');
    expect(events.at(-1)!.data).toMatchObject({
      handoff: false,
      reason: null,
      conversationId: 'socket-1',
    });
  });

  it('should stream for a conversation id of any characters, percent-encoded in the header', async () => {
    // Found by the OpenAPI fuzz test: a non-ASCII id in the header was a 500.
    for (const id of ['Ünïcode 💬 id', 'line\r\nbreak', 'plain-id_1']) {
      const res = await api(`/api/v1/chatbots/${chatbotId}/chat`, {
        method: 'POST',
        headers: { accept: 'text/event-stream' },
        json: { message: 'Hi', conversationId: id },
      });
      expect(res.status).toBe(200);
      expect(decodeURIComponent(res.headers.get('x-conversation-id')!)).toBe(id);
      const done = sseEvents(await res.text()).at(-1)!;
      expect(done).toMatchObject({ event: 'done', data: { conversationId: id } });
    }
  });

  it('should answer as JSON without the Accept header', async () => {
    groq.enqueue(fakeAnswer('We open at nine [1].'));
    const res = await api(`/api/v1/chatbots/${chatbotId}/chat`, {
      method: 'POST',
      json: { message: 'Opening time?', conversationId: 'socket-2' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      reply: 'We open at nine.',
      handoff: false,
      conversationId: 'socket-2',
    });
  });
});

describe('plans and usage over a real socket', () => {
  it('should create, list, read, update and delete a plan, and show usage against it', async () => {
    const created = await api('/api/v1/plans', {
      method: 'POST',
      json: { name: 'Socket plan', monthlyMessages: 50, dailyMessages: 5 },
    });
    expect(created.status).toBe(201);
    const plan = await created.json();
    expect(plan).toMatchObject({ name: 'Socket plan', monthlyMessages: 50, isDefault: false });

    const list = await (await api('/api/v1/plans')).json();
    expect(list.items[0].isDefault).toBe(true);
    expect(list.items.map((p: { id: string }) => p.id)).toContain(plan.id);
    expect((await (await api(`/api/v1/plans/${plan.id}`)).json()).name).toBe('Socket plan');

    const updated = await api(`/api/v1/plans/${plan.id}`, {
      method: 'PATCH',
      json: { dailyMessages: 7 },
    });
    expect(updated.status).toBe(200);
    expect((await updated.json()).dailyMessages).toBe(7);

    const bot = await (
      await api('/api/v1/chatbots', {
        method: 'POST',
        json: { name: 'Planned', planId: plan.id },
      })
    ).json();
    const usage = await api(`/api/v1/chatbots/${bot.id}/usage`);
    expect(usage.status).toBe(200);
    const { day, month } = await usage.json();
    expect(day).toMatchObject({ used: 0, limit: 7, remaining: 7 });
    expect(month).toMatchObject({ used: 0, limit: 50, remaining: 50 });

    // The playground counts against it.
    groq.enqueue(fakeAnswer('Yes [1].'));
    expect(
      (
        await api(`/api/v1/chatbots/${bot.id}/chat`, {
          method: 'POST',
          json: { message: 'Hello?' },
        })
      ).status,
    ).toBe(200);
    const counted = await (await api(`/api/v1/chatbots/${bot.id}/usage`)).json();
    expect(counted.day).toMatchObject({ used: 1, remaining: 6 });

    expect((await api(`/api/v1/chatbots/${bot.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/api/v1/plans/${plan.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/api/v1/plans/${plan.id}`)).status).toBe(404);
  });
});
