import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { deleteSource, indexDocuments, textDocument } from '../../src/sources/indexing.ts';
import { createSourceRecord, getSource, setSourceStatus } from '../../src/sources/service.ts';
import type { SourcesDeps } from '../../src/sources/types.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { FakeEmbedder } from '../knowledge/fake-embedder.ts';

let t: TestApp;
let ctx: SourcesDeps;
let chatbotId: string;
const embedder = new FakeEmbedder(32);
beforeAll(async () => {
  t = await buildTestApp({}, { embedder });
  ctx = t.deps.sources;
  chatbotId = (
    await (await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'S' } })).json()
  ).id;
});
type Text = { title: string; text: string; url?: string };
/** Indexes texts as the documents of `source` (chunked here, as text sources are). */
const indexTexts = (source: { id: string }, texts: Text[]) =>
  indexDocuments(
    ctx,
    source,
    texts.map((d) => textDocument(d)),
  );
const indexText = (source: { id: string }, text: Text) => indexTexts(source, [text]);

afterAll(async () => {
  await t.deps.knowledge.settle();
  t.deps.knowledge.close();
  await t.close();
});

describe('indexDocuments (where every source is indexed)', () => {
  it('should index every page of a source with its own url and report progress fields', async () => {
    const source = createSourceRecord(t.deps, chatbotId, {
      type: 'sitemap',
      title: 'docs.example.com',
      url: 'https://docs.example.com/sitemap.xml',
      input: { url: 'https://docs.example.com/sitemap.xml', maxPages: 10 },
    });
    expect(source.status).toBe('pending');
    setSourceStatus(t.deps, source.id, { status: 'indexing', progress: { done: 1, total: 2 } });
    expect(getSource(t.deps.db, chatbotId, source.id).progress).toEqual({ done: 1, total: 2 });
    const done = await indexTexts(source, [
      {
        title: 'Install',
        text: '# Install\n\nRun the installer.',
        url: 'https://docs.example.com/install',
      },
      {
        title: 'Upgrade',
        text: 'Upgrades keep your data.',
        url: 'https://docs.example.com/upgrade',
      },
    ]);
    expect(done).toMatchObject({ status: 'ready', chunkCount: 2, title: 'docs.example.com' });
    const chunks = await t.deps.knowledge.sourceChunks(chatbotId, source.id);
    expect(chunks.map((c) => [c.position, c.url, c.heading])).toEqual([
      [0, 'https://docs.example.com/install', 'Install'],
      [1, 'https://docs.example.com/upgrade', ''],
    ]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(2);
  });

  it('should skip unchanged content and not call the embedder again', async () => {
    const source = createSourceRecord(t.deps, chatbotId, { type: 'url', title: 'Page' });
    const doc = {
      title: 'Pricing',
      text: 'Plans start at 10 euros.',
      url: 'https://x.test/pricing',
    };
    const first = await indexText(source, doc);
    expect(first).toMatchObject({ title: 'Pricing', url: 'https://x.test/pricing', chunkCount: 1 });
    const calls = embedder.calls;
    const again = await indexText(source, doc);
    expect(embedder.calls).toBe(calls);
    expect(again.updatedAt).toBe(first.updatedAt);
  });

  it('should mark the source failed with the reason and keep its previous chunks', async () => {
    const source = createSourceRecord(t.deps, chatbotId, { type: 'url', title: 'Page' });
    await indexText(source, { title: 'Old', text: 'Old content stays.' });
    embedder.failWith = new Error('embedding endpoint answered 503');
    try {
      await expect(indexText(source, { title: 'New', text: 'New content.' })).rejects.toThrow(
        '503',
      );
    } finally {
      embedder.failWith = null;
    }
    expect(getSource(t.deps.db, chatbotId, source.id)).toMatchObject({
      status: 'failed',
      error: 'embedding endpoint answered 503',
    });
    const chunks = await t.deps.knowledge.sourceChunks(chatbotId, source.id);
    expect(chunks.map((c) => c.text)).toEqual(['Old content stays.']);
  });

  it('should leave no chunks behind when the source is deleted while it is being indexed', async () => {
    const source = createSourceRecord(t.deps, chatbotId, { type: 'url', title: 'Page' });
    let release = () => {};
    embedder.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ingesting = indexText(source, { title: 'Gone', text: 'Soon deleted.' });
    await deleteSource(ctx, chatbotId, source.id);
    embedder.gate = null;
    release();
    await expect(ingesting).rejects.toThrow('Source not found');
    expect(await t.deps.knowledge.countChunks(chatbotId, source.id)).toBe(0);
  });

  it('should fail a document without text and index nothing', async () => {
    const source = createSourceRecord(t.deps, chatbotId, { type: 'file', title: 'empty.pdf' });
    await expect(indexText(source, { title: 'empty.pdf', text: ' \n ' })).rejects.toThrow();
    expect(getSource(t.deps.db, chatbotId, source.id).status).toBe('failed');
    expect(await t.deps.knowledge.countChunks(chatbotId, source.id)).toBe(0);
  });
});
