import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync } from 'node:fs';
import { uploadPath } from '../../src/sources/fetched.ts';
import type { TestApp } from '../helpers/app.ts';
import { makeDocx } from '../helpers/docx.ts';
import { makePdf } from '../helpers/pdf.ts';
import { html, type LocalSite, startSite, urlset } from '../helpers/site.ts';
import {
  addJson,
  buildIngestApp,
  createChatbot,
  getSourceJson,
  SCHEDULED_SOURCE_FIELDS,
  searchHits,
  sourcesPath,
  upload,
} from '../helpers/sources.ts';

let t: TestApp;
let site: LocalSite;
let chatbotId: string;

const page = (title: string, body: string) =>
  html(
    `<nav>Home · Pricing</nav><main><h1>${title}</h1>${body}</main><footer>© Acme</footer>`,
    title,
  );

beforeAll(async () => {
  t = await buildIngestApp();
  chatbotId = await createChatbot(t);
  site = startSite({
    '/refunds': page('Refunds', '<p>Refunds are paid back within fourteen days.</p>'),
    '/shipping': page('Shipping', '<h2>Abroad</h2><p>Parcels to Norway take six days.</p>'),
    '/warranty': page('Warranty', '<p>The warranty lasts twenty-four months.</p>'),
    '/privacy': page('Privacy', '<p>We keep invoices for ten years.</p>'),
  });
  const o = site.origin;
  site.set('/sitemap.xml', urlset([`${o}/shipping`, `${o}/warranty`, `${o}/privacy`]));
  site.set('/small-sitemap.xml', urlset([`${o}/shipping`, `${o}/warranty`, `${o}/privacy`]));
});
afterAll(async () => {
  site.stop();
  await t.deps.knowledge.settle();
  t.deps.knowledge.close();
  await t.close();
});

describe('URL sources (happy)', () => {
  it('should answer 202 pending, then index the page in the background', async () => {
    const res = await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/refunds` });
    expect(res.status).toBe(202);
    const created = await res.json();
    expect(created).toMatchObject({
      type: 'url',
      status: 'pending',
      url: `${site.origin}/refunds`,
      chunkCount: 0,
    });
    await t.deps.worker.drain();
    const source = await getSourceJson(t, chatbotId, created.id);
    expect(source).toMatchObject({ status: 'ready', error: null, title: 'Refunds', chunkCount: 1 });
    // The contract's source fields (docs/notes/contract.md) and the schedule's, no more.
    for (const shown of [created, source]) {
      expect(Object.keys(shown).sort()).toEqual(SCHEDULED_SOURCE_FIELDS);
    }
    expect(source).toMatchObject({ refreshIntervalHours: null, lastTestRun: null });
    const hits = await searchHits(t, chatbotId, 'refunds fourteen days');
    expect(hits[0]).toMatchObject({
      sourceId: created.id,
      title: 'Refunds',
      url: `${site.origin}/refunds`,
    });
    expect(hits[0]?.text).toContain('fourteen days');
    expect(hits[0]?.text).not.toContain('Pricing');
  });

  it('should skip an unchanged page on refresh and re-index a changed one', async () => {
    const created = await (
      await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/warranty` })
    ).json();
    await t.deps.worker.drain();
    const first = await getSourceJson(t, chatbotId, created.id);
    const res = await t.request(`${sourcesPath(chatbotId)}/${created.id}/refresh`, {
      method: 'POST',
    });
    expect(res.status).toBe(202);
    await t.deps.worker.drain();
    const unchanged = await getSourceJson(t, chatbotId, created.id);
    expect(unchanged).toEqual(first);

    site.set('/warranty', page('Warranty', '<p>The warranty now lasts thirty-six months.</p>'));
    await t.request(`${sourcesPath(chatbotId)}/${created.id}/refresh`, { method: 'POST' });
    await t.deps.worker.drain();
    const changed = await getSourceJson(t, chatbotId, created.id);
    expect(changed.status).toBe('ready');
    expect(changed.updatedAt).not.toBe(first.updatedAt);
    const texts = (await searchHits(t, chatbotId, 'warranty months')).filter(
      (h) => h.sourceId === created.id,
    );
    expect(texts.map((h) => h.text).join()).toContain('thirty-six');
    expect(texts.map((h) => h.text).join()).not.toContain('twenty-four');
  });
});

describe('sitemap sources (happy)', () => {
  it('should crawl the sitemap into one source with per-page citations and progress', async () => {
    const res = await addJson(t, chatbotId, { type: 'sitemap', url: `${site.origin}/sitemap.xml` });
    expect(res.status).toBe(202);
    const created = await res.json();
    await t.deps.worker.drain();
    const source = await getSourceJson(t, chatbotId, created.id);
    expect(source).toMatchObject({
      type: 'sitemap',
      status: 'ready',
      chunkCount: 3,
      progress: { done: 3, total: 3 },
    });
    const norway = (await searchHits(t, chatbotId, 'parcels Norway')).find(
      (h) => h.sourceId === created.id,
    );
    expect(norway).toMatchObject({ title: 'Shipping', url: `${site.origin}/shipping` });
    const invoices = (await searchHits(t, chatbotId, 'invoices ten years')).find(
      (h) => h.sourceId === created.id,
    );
    expect(invoices?.url).toBe(`${site.origin}/privacy`);
  });

  it('should honour maxPages', async () => {
    const created = await (
      await addJson(t, chatbotId, {
        type: 'sitemap',
        url: `${site.origin}/small-sitemap.xml`,
        maxPages: 2,
      })
    ).json();
    await t.deps.worker.drain();
    expect(await getSourceJson(t, chatbotId, created.id)).toMatchObject({
      status: 'ready',
      chunkCount: 2,
      progress: { done: 2, total: 2 },
    });
  });
});

describe('file sources (happy)', () => {
  const files: [string, Uint8Array | string, string][] = [
    [
      'manual.pdf',
      makePdf([['Pump manual', 'Descale the pump every ninety days.']], { title: 'Pump manual' }),
      'descale pump ninety',
    ],
    [
      'guide.docx',
      makeDocx([
        { heading: 1, text: 'Kettle guide' },
        { heading: 2, text: 'Cleaning' },
        { text: 'Rinse the kettle with vinegar monthly.' },
      ]),
      'kettle vinegar',
    ],
    ['faq.md', '# Opening hours\n\nThe shop opens at nine on Saturdays.', 'shop saturdays nine'],
    ['notes.txt', 'Gift wrapping costs three euros.', 'gift wrapping euros'],
    [
      'page.html',
      '<html><head><title>Loyalty</title></head><body><main><p>Loyalty points expire after one year.</p></main></body></html>',
      'loyalty points expire',
    ],
  ];

  it.each(files)('should index an uploaded %s', async (name, bytes, query) => {
    const res = await upload(t, chatbotId, name, bytes);
    expect(res.status).toBe(202);
    const created = await res.json();
    expect(created).toMatchObject({ type: 'file', status: 'pending', title: name, url: null });
    expect(existsSync(uploadPath(t.dir, created.id))).toBe(true);
    await t.deps.worker.drain();
    const source = await getSourceJson(t, chatbotId, created.id);
    expect(source.status).toBe('ready');
    expect(source.chunkCount).toBeGreaterThan(0);
    const hits = await searchHits(t, chatbotId, query);
    expect(hits[0]?.sourceId).toBe(created.id);
  });

  it('should keep Word headings in the title and take a title field over the file name', async () => {
    const docx = makeDocx([{ heading: 1, text: 'Blender guide' }, { text: 'Never run it empty.' }]);
    const a = await (await upload(t, chatbotId, 'b.docx', docx)).json();
    const b = await (
      await upload(t, chatbotId, 'c.txt', 'Run it full.', {
        title: 'House rules',
        externalId: 'hr-1',
      })
    ).json();
    await t.deps.worker.drain();
    expect((await getSourceJson(t, chatbotId, a.id)).title).toBe('Blender guide');
    expect(await getSourceJson(t, chatbotId, b.id)).toMatchObject({
      title: 'House rules',
      externalId: 'hr-1',
    });
  });
});

describe('deleting fetched sources (happy)', () => {
  it('should remove the chunks and the kept upload at once', async () => {
    const created = await (
      await upload(t, chatbotId, 'temp.txt', 'Temporary sparkle notice.')
    ).json();
    await t.deps.worker.drain();
    expect(await t.deps.knowledge.countChunks(chatbotId, created.id)).toBe(1);
    const res = await t.request(`${sourcesPath(chatbotId)}/${created.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await t.deps.knowledge.countChunks(chatbotId, created.id)).toBe(0);
    expect(existsSync(uploadPath(t.dir, created.id))).toBe(false);
    expect((await searchHits(t, chatbotId, 'sparkle')).length).toBe(0);
  });

  it('should neutralise a job still waiting for a deleted source', async () => {
    const before = site.hits.length;
    const created = await (
      await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/refunds?x=1` })
    ).json();
    await t.request(`${sourcesPath(chatbotId)}/${created.id}`, { method: 'DELETE' });
    await t.deps.worker.drain();
    expect(site.hits.length).toBe(before);
    expect(await t.deps.knowledge.countChunks(chatbotId, created.id)).toBe(0);
    expect(t.deps.worker.stats().cancelled).toBeGreaterThanOrEqual(1);
  });
});

describe('deleting a chatbot (happy)', () => {
  it('should remove the kept uploads of its file sources', async () => {
    const botId = await (
      await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Doomed' } })
    ).json();
    const created = await (await upload(t, botId.id, 'doomed.txt', 'Doomed notice.')).json();
    await t.deps.worker.drain();
    expect(existsSync(uploadPath(t.dir, created.id))).toBe(true);
    const res = await t.request(`/api/v1/chatbots/${botId.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(existsSync(uploadPath(t.dir, created.id))).toBe(false);
    expect(await t.deps.knowledge.countChunks(botId.id, created.id)).toBe(0);
  });
});
