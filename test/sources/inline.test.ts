import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { SOURCE_FIELDS } from '../helpers/sources.ts';

let t: TestApp;
let chatbotId: string;
beforeAll(async () => {
  t = await buildTestApp({ EMBEDDING_PROVIDER: 'none' });
  const res = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'KB' } });
  chatbotId = (await res.json()).id;
});
afterAll(async () => {
  await t.deps.knowledge.settle();
  t.deps.knowledge.close();
  await t.close();
});

const sources = (id = chatbotId) => `/api/v1/chatbots/${id}/sources`;
const addSource = (json: unknown, id = chatbotId) =>
  t.request(sources(id), { method: 'POST', json });
const search = (query: string, id = chatbotId, suffix = '') =>
  t.request(`/api/v1/chatbots/${id}/search${suffix}`, { method: 'POST', json: { query } });

const HANDBOOK = `# Returns

Items can be returned within 30 days of delivery.

## Refunds

Refunds reach your card within five business days.`;

describe('sources (happy)', () => {
  it('should add a text source that is searchable when the call returns', async () => {
    const res = await addSource({
      type: 'text',
      title: 'Handbook',
      text: HANDBOOK,
      externalId: 'kb-1',
    });
    expect(res.status).toBe(201);
    const source = await res.json();
    expect(source).toMatchObject({
      type: 'text',
      title: 'Handbook',
      url: null,
      externalId: 'kb-1',
      status: 'ready',
      error: null,
      chunkCount: 2,
    });
    // The contract (docs/notes/contract.md): a source carries exactly these fields (only a sitemap adds `progress`).
    expect(Object.keys(source).sort()).toEqual(SOURCE_FIELDS);
    expect(typeof source.id).toBe('string');
    const hits = (await (await search('how long do refunds take')).json()).hits;
    expect(hits[0]).toMatchObject({ sourceId: source.id, title: 'Handbook', url: null });
    expect(hits[0].text).toContain('five business days');
    expect(typeof hits[0].chunkId).toBe('string');
    expect(hits[0].score).toBeGreaterThan(0);
  });

  it('should keep a Q&A pair in one chunk', async () => {
    const res = await addSource({
      type: 'qa',
      question: 'Do you ship to Canada?',
      answer: 'Yes, we ship to Canada with tracked delivery.',
    });
    expect(res.status).toBe(201);
    const source = await res.json();
    expect(source).toMatchObject({ type: 'qa', title: 'Do you ship to Canada?', chunkCount: 1 });
    const hits = (await (await search('shipping canada')).json()).hits;
    expect(hits[0].sourceId).toBe(source.id);
    expect(hits[0].text).toBe(
      'Do you ship to Canada?\n\nYes, we ship to Canada with tracked delivery.',
    );
  });

  it('should list and read sources', async () => {
    const list = await (await t.request(sources())).json();
    expect(list.items.length).toBeGreaterThanOrEqual(2);
    const first = list.items[0];
    const read = await t.request(`${sources()}/${first.id}`);
    expect(read.status).toBe(200);
    expect((await read.json()).id).toBe(first.id);
  });

  it('should rank hits best first and explain each leg with ?explain=true', async () => {
    const res = await search('refunds card', chatbotId, '?explain=true');
    const { hits } = await res.json();
    expect(hits.length).toBeGreaterThan(0);
    for (let i = 1; i < hits.length; i++)
      expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
    expect(hits[0].explain.fts).toMatchObject({ rank: 1 });
    expect(hits[0].explain.vector).toBeNull();
    const plain = await (await search('refunds card')).json();
    expect(plain.hits[0].explain).toBeUndefined();
  });

  it('should honour the limit', async () => {
    const res = await t.request(`/api/v1/chatbots/${chatbotId}/search`, {
      method: 'POST',
      json: { query: 'returns refunds canada delivery', limit: 1 },
    });
    expect((await res.json()).hits).toHaveLength(1);
  });

  it('should skip a refresh of unchanged content and re-index on demand', async () => {
    const created = await (
      await addSource({ type: 'text', title: 'Hours', text: 'Open 9 to 5.' })
    ).json();
    const refreshed = await t.request(`${sources()}/${created.id}/refresh`, { method: 'POST' });
    expect(refreshed.status).toBe(200);
    const body = await refreshed.json();
    expect(body.status).toBe('ready');
    // Skipped: nothing was rewritten, so the row was not touched.
    expect(body.updatedAt).toBe(created.updatedAt);
  });

  it('should delete a source and its chunks at once', async () => {
    const created = await (
      await addSource({ type: 'text', title: 'Temp', text: 'Zebra crossing rules apply.' })
    ).json();
    expect((await (await search('zebra')).json()).hits).toHaveLength(1);
    const del = await t.request(`${sources()}/${created.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await (await search('zebra')).json()).hits).toHaveLength(0);
    expect((await t.request(`${sources()}/${created.id}`)).status).toBe(404);
  });

  it('should remove every chunk of a chatbot when the chatbot is deleted', async () => {
    const other = await (
      await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Doomed' } })
    ).json();
    await addSource({ type: 'text', title: 'T', text: 'Walrus facts.' }, other.id);
    expect(await t.deps.knowledge.countChunks(other.id)).toBe(1);
    const del = await t.request(`/api/v1/chatbots/${other.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await t.deps.knowledge.countChunks(other.id)).toBe(0);
    const row = t.deps.db
      .query('SELECT count(*) AS n FROM sources WHERE chatbot_id = ?')
      .get(other.id);
    expect(row).toEqual({ n: 0 });
  });

  it('should not return another chatbot’s chunks', async () => {
    const other = await (
      await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Other' } })
    ).json();
    await addSource({ type: 'text', title: 'Secret', text: 'Refunds are never given.' }, other.id);
    const hits = (await (await search('refunds')).json()).hits;
    expect(hits.every((h: { title: string }) => h.title !== 'Secret')).toBe(true);
  });
});

describe('sources (errors)', () => {
  it('should answer 422 for an empty text', async () => {
    const res = await addSource({ type: 'text', title: 'Empty', text: '   \n ' });
    expect(res.status).toBe(422);
    expect((await res.json()).error.code).toBe('VALIDATION_FAILED');
  });

  it('should answer 422 for an unknown type or a missing field', async () => {
    expect((await addSource({ type: 'fax', title: 'x' })).status).toBe(422);
    expect((await addSource({ type: 'qa', question: 'Why?' })).status).toBe(422);
    expect((await addSource({ type: 'text', text: 'No title' })).status).toBe(422);
  });

  it('should answer 404 for an unknown chatbot', async () => {
    expect((await addSource({ type: 'text', title: 'T', text: 'x' }, 'cb_nope')).status).toBe(404);
    expect((await t.request(sources('cb_nope'))).status).toBe(404);
    expect((await search('x', 'cb_nope')).status).toBe(404);
  });

  it('should answer 404 for an unknown source or one of another chatbot', async () => {
    expect((await t.request(`${sources()}/src_nope`)).status).toBe(404);
    expect((await t.request(`${sources()}/src_nope`, { method: 'DELETE' })).status).toBe(404);
    expect((await t.request(`${sources()}/src_nope/refresh`, { method: 'POST' })).status).toBe(404);
    const other = await (
      await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Third' } })
    ).json();
    const mine = await (await addSource({ type: 'text', title: 'M', text: 'Mine.' })).json();
    expect((await t.request(`${sources(other.id)}/${mine.id}`)).status).toBe(404);
  });

  it('should answer 422 for a bad search body or limit', async () => {
    const url = `/api/v1/chatbots/${chatbotId}/search`;
    expect((await t.request(url, { method: 'POST', json: {} })).status).toBe(422);
    expect((await t.request(url, { method: 'POST', json: { query: 'x', limit: 0 } })).status).toBe(
      422,
    );
    expect(
      (await t.request(url, { method: 'POST', json: { query: 'x', limit: 101 } })).status,
    ).toBe(422);
  });

  it('should answer an empty or punctuation-only query with no hits, not an error', async () => {
    for (const q of ['', '"((', 'AND OR']) {
      const res = await search(q);
      expect(res.status).toBe(200);
    }
  });
});

describe('sources (auth)', () => {
  it('should answer 401 without the admin token on every knowledge route', async () => {
    const routes: [string, string][] = [
      ['POST', sources()],
      ['GET', sources()],
      ['GET', `${sources()}/src_x`],
      ['DELETE', `${sources()}/src_x`],
      ['POST', `${sources()}/src_x/refresh`],
      ['POST', `/api/v1/chatbots/${chatbotId}/search`],
      ['POST', '/api/v1/reindex'],
    ];
    for (const [method, path] of routes) {
      const res = await t.request(path, { method, auth: false, json: { query: 'x' } });
      expect(res.status).toBe(401);
      const wrong = await t.request(path, { method, auth: 'wrong-token', json: { query: 'x' } });
      expect(wrong.status).toBe(401);
    }
  });
});
