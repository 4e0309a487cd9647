// Bulk loads (`answerdesk eval`, imports): a load that fails part-way leaves no source `indexing`.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { addTextSources } from '../../src/sources/bulk.ts';
import { listSources } from '../../src/sources/service.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const docs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ title: `Doc ${i}`, text: `Paragraph number ${i}.` }));

describe('addTextSources', () => {
  it('should mark failed, with a reason, the sources a failed bulk load could not index', async () => {
    const res = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Bulk' } });
    const { id: chatbotId } = (await res.json()) as { id: string };
    const knowledge = t.deps.sources.knowledge;
    const add = knowledge.add.bind(knowledge);
    let adds = 0;
    // The second batch's index write fails (e.g. the disk refuses it).
    knowledge.add = async (rows, vectors) => {
      if (++adds === 2) throw new Error('disk full');
      return add(rows, vectors);
    };
    try {
      await expect(
        addTextSources(t.deps.sources, chatbotId, docs(5), { batchChunks: 2 }),
      ).rejects.toThrow('disk full');
    } finally {
      knowledge.add = add;
    }
    const sources = listSources(t.deps.db, chatbotId);
    expect(sources.map((s) => s.status)).toEqual(['ready', 'ready', 'failed', 'failed']);
    expect(sources.filter((s) => s.status === 'failed').map((s) => s.error)).toEqual([
      'the bulk load failed before this source was indexed',
      'the bulk load failed before this source was indexed',
    ]);
  });
});
