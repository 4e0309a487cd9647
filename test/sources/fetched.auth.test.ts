import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { TestApp } from '../helpers/app.ts';
import { html, type LocalSite, startSite } from '../helpers/site.ts';
import { addJson, buildIngestApp, createChatbot, sourcesPath, upload } from '../helpers/sources.ts';

let t: TestApp;
let site: LocalSite;
let chatbotId: string;
let sourceId: string;

beforeAll(async () => {
  t = await buildIngestApp();
  chatbotId = await createChatbot(t);
  site = startSite({ '/a': html('<main><p>Authorised content.</p></main>', 'A') });
  sourceId = (await (await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/a` })).json())
    .id;
  await t.deps.worker.drain();
});
afterAll(async () => {
  site.stop();
  await t.deps.knowledge.settle();
  t.deps.knowledge.close();
  await t.close();
});

describe('fetched sources (auth)', () => {
  for (const auth of [false, 'wrong-token-0123456789'] as const) {
    const who = auth === false ? 'without a token' : 'with a wrong token';

    it(`should refuse a URL source ${who} and fetch nothing`, async () => {
      const before = site.hits.length;
      const res = await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/a` }, auth);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('UNAUTHORIZED');
      await t.deps.worker.drain();
      expect(site.hits.length).toBe(before);
    });

    it(`should refuse an upload ${who}`, async () => {
      const res = await upload(t, chatbotId, 'a.txt', 'text', {}, auth);
      expect(res.status).toBe(401);
    });

    it(`should refuse refresh and delete ${who}`, async () => {
      const refresh = await t.request(`${sourcesPath(chatbotId)}/${sourceId}/refresh`, {
        method: 'POST',
        auth,
      });
      expect(refresh.status).toBe(401);
      const del = await t.request(`${sourcesPath(chatbotId)}/${sourceId}`, {
        method: 'DELETE',
        auth,
      });
      expect(del.status).toBe(401);
      expect(await t.deps.knowledge.countChunks(chatbotId, sourceId)).toBe(1);
    });
  }

  it('should not let one chatbot refresh or delete another one’s source', async () => {
    const otherBot = await createChatbot(t, 'Other');
    const refresh = await t.request(`${sourcesPath(otherBot)}/${sourceId}/refresh`, {
      method: 'POST',
    });
    expect(refresh.status).toBe(404);
    const del = await t.request(`${sourcesPath(otherBot)}/${sourceId}`, { method: 'DELETE' });
    expect(del.status).toBe(404);
    expect(await t.deps.knowledge.countChunks(chatbotId, sourceId)).toBe(1);
  });

  it('should list the sources only with the token', async () => {
    expect((await t.request(sourcesPath(chatbotId), { auth: false })).status).toBe(401);
    const list = await (await t.request(sourcesPath(chatbotId))).json();
    expect(list.items.map((s: { id: string }) => s.id)).toContain(sourceId);
  });
});
