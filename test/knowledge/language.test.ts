// A chatbot's knowledge language chooses how its chunks and queries are analysed; changing it
// re-indexes the chunks in the background (real SQLite, LanceDB and routes; jobs run by drain()).
import { afterEach, beforeEach, describe, expect, it } from 'bun:test';
import { ANALYSES } from '../../src/knowledge/analysis.ts';
import { addAnalyzerColumn, recordAnalysis } from '../../src/knowledge/analysis-store.ts';
import { enqueueStaleAnalyses } from '../../src/knowledge/reanalyse-job.ts';
import { searchKnowledge } from '../../src/knowledge/search.ts';
import type { TestApp } from '../helpers/app.ts';
import { addJson, buildIngestApp, searchHits } from '../helpers/sources.ts';

const CHINESE = '北京是中华人民共和国的首都，也是全国的政治中心和文化中心。';
const FRENCH = 'Les chevaux sauvages vivent dans les grandes plaines du pays.';

let t: TestApp;
beforeEach(async () => {
  t = await buildIngestApp();
});
afterEach(async () => {
  await t.close();
});

async function chatbotWith(knowledge: string | null, title: string, text: string) {
  const res = await t.request('/api/v1/chatbots', {
    method: 'POST',
    json: { name: `kb ${knowledge}`, language: { knowledge } },
  });
  const id = (await res.json()).id as string;
  expect((await addJson(t, id, { type: 'text', title, text })).status).toBe(201);
  await t.deps.worker.drain();
  return id;
}

const setKnowledge = (id: string, knowledge: string | null) =>
  t.request(`/api/v1/chatbots/${id}`, { method: 'PATCH', json: { language: { knowledge } } });

describe('knowledge language', () => {
  it('should segment Chinese for a zh chatbot and keep an en chatbot in the same index apart', async () => {
    const zh = await chatbotWith('zh', '首都', CHINESE);
    const en = await chatbotWith('en', 'Horses', 'Wild horses live in the great plains.');
    // A short question shares no whole clause with the passage: only segmentation finds it.
    expect((await searchHits(t, zh, '中国的首都是哪里')).length).toBe(1);
    expect((await searchHits(t, en, 'where do horses live')).length).toBe(1);
    expect(await searchHits(t, en, '中国的首都是哪里')).toEqual([]);
  });

  it('should re-index a chatbot in the background when its knowledge language changes, answering from the old analysis until the switch', async () => {
    const id = await chatbotWith('en', '首都', CHINESE);
    // English analysis: the clause is one token, the question does not match it.
    expect(await searchHits(t, id, '中国的首都是哪里')).toEqual([]);
    expect((await setKnowledge(id, 'zh')).status).toBe(200);
    expect(t.deps.knowledge.analysisOf(id)?.key).toBe('en');
    expect(await searchHits(t, id, '中国的首都是哪里')).toEqual([]);
    await t.deps.worker.drain();
    expect(t.deps.knowledge.analysisOf(id)?.key).toBe('cjk');
    expect((await searchHits(t, id, '中国的首都是哪里')).length).toBe(1);
  });

  it('should never answer empty right after a switch, and keep answering before it', async () => {
    const id = await chatbotWith('en', 'Chevaux', FRENCH);
    expect((await searchHits(t, id, 'chevaux sauvages')).length).toBe(1);
    expect((await setKnowledge(id, 'fr')).status).toBe(200);
    expect((await searchHits(t, id, 'chevaux sauvages')).length).toBe(1);
    await t.deps.worker.drain();
    expect(t.deps.knowledge.analysisOf(id)?.key).toBe('fr');
    // No optimize has run yet: the rows of the new column are found unindexed, then indexed.
    expect((await searchHits(t, id, 'chevaux sauvages')).length).toBe(1);
    await t.deps.knowledge.settle();
    expect((await searchHits(t, id, 'chevaux sauvages')).length).toBe(1);
    // And back: the old column was emptied, the chatbot's rows are written again.
    expect((await setKnowledge(id, null)).status).toBe(200);
    await t.deps.worker.drain();
    expect(t.deps.knowledge.analysisOf(id)?.key).toBe('neutral');
    expect((await searchHits(t, id, 'chevaux sauvages')).length).toBe(1);
  });

  it('should keep the new analysis for sources added after the switch', async () => {
    const id = await chatbotWith('en', '首都', CHINESE);
    await setKnowledge(id, 'ja');
    await t.deps.worker.drain();
    await addJson(t, id, { type: 'text', title: '東京', text: '東京は日本の首都です。' });
    await t.deps.worker.drain();
    expect((await searchHits(t, id, '日本の首都')).length).toBeGreaterThan(0);
  });

  it('should correct a typo with the words of French content, and leave Chinese queries alone', async () => {
    const fr = await chatbotWith('fr', 'Chevaux', FRENCH);
    // The first search starts building the chatbot's vocabulary.
    await searchKnowledge(t.deps.knowledge, { chatbotId: fr, query: 'chevaus' });
    await t.deps.knowledge.settle();
    const fixed = await searchKnowledge(t.deps.knowledge, { chatbotId: fr, query: 'chevaus' });
    expect(fixed.length).toBe(1);
    const zh = await chatbotWith('zh', '首都', CHINESE);
    expect(t.deps.knowledge.analysisOf(zh)?.spell).toBe(false);
  });

  it('should forget a deleted chatbot analysis with its chunks', async () => {
    const id = await chatbotWith('de', 'Pferde', 'Wilde Pferde leben in den großen Ebenen.');
    expect(t.deps.knowledge.analysisOf(id)?.key).toBe('de');
    expect((await t.request(`/api/v1/chatbots/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(t.deps.knowledge.analysisOf(id)).toBeNull();
  });

  it('should move chunks indexed before per-chatbot analysis (English, search_text) to their language at start', async () => {
    const id = await chatbotWith('zh', '首都', CHINESE);
    // As an index of before: the rows in `search_text` with its English index, recorded legacy.
    const table = await t.deps.lance.openTable(t.deps.knowledge.tableName);
    await addAnalyzerColumn(table, ANALYSES.legacy);
    table.close();
    recordAnalysis(t.deps.db, id, 'legacy', new Date());
    expect(await searchHits(t, id, '中国的首都是哪里')).toEqual([]);
    // Every start (and every command that opens the storage) asks again: one job waits, not one per ask.
    for (let i = 0; i < 3; i++) enqueueStaleAnalyses(t.deps.db, t.deps.worker, t.deps.clock.now());
    const waiting = t.deps.db
      .query<{ n: number }, [string]>(
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'knowledge.reanalyse' AND state = 'pending' AND chatbot_id = ?",
      )
      .get(id)!.n;
    expect(waiting).toBe(1);
    await t.deps.worker.drain();
    expect(t.deps.knowledge.analysisOf(id)?.key).toBe('cjk');
    expect((await searchHits(t, id, '中国的首都是哪里')).length).toBe(1);
  });

  it('should keep every chatbot in its analysis through a re-embed', async () => {
    const zh = await chatbotWith('zh', '首都', CHINESE);
    const fr = await chatbotWith('fr', 'Chevaux', FRENCH);
    await t.deps.knowledge.reembed();
    expect((await searchHits(t, zh, '中国的首都是哪里')).length).toBe(1);
    expect((await searchHits(t, fr, 'chevaux sauvages')).length).toBe(1);
  });

  it('should store the indexed text once, in search_text only where the analysis changes it', async () => {
    const en = await chatbotWith('en', 'Horses', 'Wild horses live in the great plains.');
    const zh = await chatbotWith('zh', '首都', CHINESE);
    // A fresh handle each time: an open one keeps reading the version it opened.
    const cells = async (id: string) => {
      const table = await t.deps.lance.openTable(t.deps.knowledge.tableName);
      const rows = await table
        .query()
        .where(`chatbot_id = '${id}'`)
        .select(['search_text', 'fts_en', 'fts_cjk'])
        .toArray();
      table.close();
      return rows;
    };
    const [enRow] = await cells(en);
    expect(enRow?.search_text).toBe('');
    expect(enRow?.fts_en).toContain('Wild horses');
    const [zhRow] = await cells(zh);
    expect(zhRow?.search_text).toContain(CHINESE);
    expect(zhRow?.fts_cjk).toContain(' 北 京 是 ');
    // Switched to English, the raw text moves out of search_text into fts_en.
    await setKnowledge(zh, 'en');
    await t.deps.worker.drain();
    const [moved] = await cells(zh);
    expect(moved).toMatchObject({ search_text: '', fts_cjk: null });
    expect(moved?.fts_en).toContain(CHINESE);
  });
});
