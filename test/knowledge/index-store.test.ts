import { afterEach, describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import { type ChunkRow, LanceKnowledgeStore } from '../../src/knowledge/index-store.ts';
import { sqlString } from '../../src/knowledge/replace.ts';
import { searchKnowledge } from '../../src/knowledge/search.ts';
import { createLogger } from '../../src/logging.ts';
import { openLance } from '../../src/storage/lancedb/db.ts';
import { type Database, openDatabase } from '../../src/storage/sqlite/db.ts';
import { tempDir } from '../helpers/app.ts';
import { FakeEmbedder } from './fake-embedder.ts';

const log = createLogger('silent');
const open: { db: Database; store: LanceKnowledgeStore; cleanup: () => void }[] = [];

async function openStore(
  embedder: FakeEmbedder | null = null,
  dir = tempDir(),
  opts: { writeSliceChars?: number } = {},
) {
  const db = openDatabase(join(dir.dir, 'answerdesk.sqlite'));
  const conn = await openLance(dir.dir);
  const store = await LanceKnowledgeStore.open({
    conn,
    db,
    log,
    embedder,
    optimizeDelayMs: 60_000,
    ...opts,
  });
  open.push({ db, store, cleanup: dir.cleanup });
  return { db, store, conn, dir };
}

afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.store.settle();
    o.store.close();
    o.db.close();
    o.cleanup();
  }
});

const row = (chatbotId: string, sourceId: string, i: number, text: string): ChunkRow => ({
  id: `${sourceId}-${i}-${text.length}`,
  chatbotId,
  sourceId,
  title: `Title ${sourceId}`,
  url: null,
  heading: '',
  position: i,
  text,
  searchText: text,
});

describe('sqlString', () => {
  it('should double quotes so a value cannot end the literal', () => {
    expect(sqlString("a'b")).toBe("'a''b'");
    expect(sqlString("' OR '1'='1")).toBe("''' OR ''1''=''1'");
  });
});

describe('LanceKnowledgeStore', () => {
  it('should keep chatbots apart even when ids and queries contain quotes', async () => {
    const { store } = await openStore();
    const evil = "cb' OR chatbot_id != '";
    await store.add([
      row('cb1', 's1', 0, 'refund policy for annual plans'),
      row(evil, 's2', 0, 'refund policy secret of another tenant'),
      row('cb\\2', 's3', 0, 'refund policy with a backslash tenant'),
    ]);
    const hits = await searchKnowledge(store, { chatbotId: 'cb1', query: "refund' OR 1=1 --" });
    expect(hits.map((h) => h.sourceId)).toEqual(['s1']);
    const evilHits = await searchKnowledge(store, { chatbotId: evil, query: 'refund policy' });
    expect(evilHits.map((h) => h.sourceId)).toEqual(['s2']);
    const bsHits = await searchKnowledge(store, { chatbotId: 'cb\\2', query: 'refund' });
    expect(bsHits.map((h) => h.sourceId)).toEqual(['s3']);
    await store.deleteChatbot(evil);
    expect(await store.countChunks()).toBe(2);
  });

  it('should never fail on punctuation or boolean syntax in a query', async () => {
    const { store } = await openStore();
    await store.add([row('cb1', 's1', 0, 'How do I reset my password?')]);
    for (const q of [
      'password AND (reset OR "forgot',
      'reset: password* ~2 ^3 -x +y [a TO b] {c}',
      '"',
      '',
      '   ',
      '?!',
      'NOT',
      "it's l'été — naïve café",
      'パスワード',
      '\\',
      'pasword: "resett" AND (NOT paswords) ~1 ^2',
      `${'pasword '.repeat(2_000)}`,
    ]) {
      const hits = await searchKnowledge(store, { chatbotId: 'cb1', query: q });
      expect(Array.isArray(hits)).toBe(true);
    }
    const hits = await searchKnowledge(store, { chatbotId: 'cb1', query: 'RESETTING passwords!!' });
    expect(hits.map((h) => h.sourceId)).toEqual(['s1']);
  });

  it.each([
    ['in one merge-insert', {}],
    // Every row a write of its own: the rows are staged, then swapped in by one update.
    ['staged in slices', { writeSliceChars: 1 }],
  ])(
    'should replace a source atomically %s: readers see the old chunks or the new ones, never both or neither',
    async (_, opts) => {
      const { store } = await openStore(null, tempDir(), opts);
      const versionA = [0, 1, 2].map((i) => row('cb1', 's1', i, `alpha text ${i} shared words`));
      const versionB = [0, 1, 2, 3, 4].map((i) =>
        row('cb1', 's1', i, `beta text number ${i} shared words`),
      );
      await store.add([...versionA, row('cb1', 's2', 0, 'another source with shared words')]);
      const idsA = versionA
        .map((r) => r.id)
        .sort()
        .join();
      const idsB = versionB
        .map((r) => r.id)
        .sort()
        .join();
      const seen = new Set<string>();
      let writing = true;
      const reader = (async () => {
        while (writing) {
          const chunks = await store.sourceChunks('cb1', 's1');
          const ids = chunks
            .map((c) => c.id)
            .sort()
            .join();
          seen.add(ids);
          expect([idsA, idsB]).toContain(ids);
          const hits = await searchKnowledge(store, {
            chatbotId: 'cb1',
            query: 'shared words',
            limit: 20,
          });
          const hitIds = hits
            .filter((h) => h.sourceId === 's1')
            .map((h) => h.chunkId)
            .sort()
            .join();
          expect([idsA, idsB]).toContain(hitIds);
        }
      })();
      for (let i = 0; i < 12; i++) {
        await store.replaceSource('cb1', 's1', i % 2 === 0 ? versionB : versionA);
      }
      writing = false;
      await reader;
      expect(seen.size).toBeGreaterThanOrEqual(1);
      expect(await store.countChunks('cb1', 's2')).toBe(1);
      expect(
        (await store.sourceChunks('cb1', 's1'))
          .map((c) => c.id)
          .sort()
          .join(),
      ).toBe(idsA);
    },
  );

  it('should drop the rows a crashed replace left staged or replaced when the index opens', async () => {
    const dir = tempDir();
    const first = await openStore(null, dir);
    await first.store.add([
      row('cb1', 's1', 0, 'the chunk searches see'),
      // As a crash leaves them: staged rows not yet swapped in, replaced ones not yet deleted.
      row('~staged:cb1', 's1', 1, 'a staged chunk'),
      row('~replaced:cb1', 's1', 2, 'a replaced chunk'),
    ]);
    first.store.close();
    const { store } = await openStore(null, dir);
    expect(await store.countChunks()).toBe(1);
    expect(await store.countChunks('cb1', 's1')).toBe(1);
  });

  it('should delete by source and by chatbot', async () => {
    const { store } = await openStore();
    await store.add([
      row('cb1', 's1', 0, 'one'),
      row('cb1', 's1', 1, 'two'),
      row('cb1', 's2', 0, 'three'),
      row('cb2', 's3', 0, 'four'),
    ]);
    await store.deleteSource('cb1', 's1');
    expect(await store.countChunks('cb1')).toBe(1);
    await store.deleteChatbot('cb1');
    expect(await store.countChunks('cb1')).toBe(0);
    expect(await store.countChunks('cb2')).toBe(1);
  });

  it('should find new rows before and after the background optimize', async () => {
    const { store } = await openStore();
    await store.add([row('cb1', 's1', 0, 'kubernetes deployment guide')]);
    expect((await searchKnowledge(store, { chatbotId: 'cb1', query: 'deployments' })).length).toBe(
      1,
    );
    await store.settle();
    await store.add([row('cb1', 's2', 0, 'kubernetes ingress guide')]);
    const hits = await searchKnowledge(store, { chatbotId: 'cb1', query: 'kubernetes guide' });
    expect(hits.map((h) => h.sourceId).sort()).toEqual(['s1', 's2']);
  });

  it('should fuse both legs when vectors exist and explain each leg', async () => {
    const embedder = new FakeEmbedder(32);
    const { store } = await openStore(embedder);
    expect(store.vectorsReady).toBe(true);
    await store.add([
      row('cb1', 's1', 0, 'cancel my subscription'),
      row('cb1', 's2', 0, 'change the billing address'),
      row('cb2', 's3', 0, 'cancel my subscription'),
    ]);
    const hits = await searchKnowledge(store, {
      chatbotId: 'cb1',
      query: 'cancel subscription',
      explain: true,
    });
    expect(hits[0]?.sourceId).toBe('s1');
    expect(hits[0]?.explain?.fts?.rank).toBe(1);
    expect(hits[0]?.explain?.vector?.rank).toBe(1);
    expect(hits.every((h) => h.sourceId !== 's3')).toBe(true);
    // The billing chunk shares no word: the vector leg alone may still rank it.
    const billing = hits.find((h) => h.sourceId === 's2');
    if (billing) expect(billing.explain?.fts).toBeNull();
  });

  it('should build the vector index in the background once the table is large enough', async () => {
    const dir = tempDir();
    const db = openDatabase(join(dir.dir, 'answerdesk.sqlite'));
    const embedder = new FakeEmbedder(16);
    const store = await LanceKnowledgeStore.open({
      conn: await openLance(dir.dir),
      db,
      log,
      embedder,
      vectorIndexMinRows: 300,
    });
    open.push({ db, store, cleanup: dir.cleanup });
    const words = ['red', 'green', 'blue', 'cat', 'dog', 'bird', 'fast', 'slow', 'big', 'small'];
    await store.add(
      Array.from({ length: 400 }, (_, i) =>
        row(
          `cb${i % 2}`,
          `s${i}`,
          0,
          `${words[i % 10]} ${words[(i >> 1) % 10]} ${words[(i >> 2) % 10]} item${i}`,
        ),
      ),
    );
    await store.settle();
    const table = await (await openLance(dir.dir)).openTable(store.tableName);
    const indexed = (await table.listIndices()).map((i) => i.columns.join());
    expect(indexed).toContain('vector');
    // The full-text index of the analyzer in use (an id without a chatbot: English).
    expect(indexed).toContain('fts_en');
    const hits = await searchKnowledge(store, {
      chatbotId: 'cb0',
      query: 'item42 red',
      explain: true,
    });
    const s42 = hits.find((h) => h.sourceId === 's42');
    expect(s42?.explain?.fts?.rank).toBe(1);
    expect(s42?.explain?.vector).not.toBeNull();
    expect(hits.every((h) => Number(h.sourceId.slice(1)) % 2 === 0)).toBe(true);
  });

  it('should find a chunk despite a typo, with the vocabulary following writes', async () => {
    const { store } = await openStore();
    await store.add([
      row('cb1', 's1', 0, 'How do I reset my password?'),
      row('cb1', 's2', 0, 'Shipping costs and delivery times'),
    ]);
    const search = (query: string) => searchKnowledge(store, { chatbotId: 'cb1', query });
    // The first search starts building the vocabulary in the background; settle() awaits it.
    await search('pasword');
    await store.settle();
    expect((await search('pasword resett')).map((h) => h.sourceId)).toEqual(['s1']);
    expect((await search('delivry')).map((h) => h.sourceId)).toEqual(['s2']);
    // A write makes the vocabulary stale: the next search rebuilds it in the background.
    await store.add([row('cb1', 's3', 0, 'Refunds within thirty days')]);
    expect(await search('refnds')).toEqual([]);
    await store.settle();
    expect((await search('refnds')).map((h) => h.sourceId)).toEqual(['s3']);
    // Another chatbot's words are not in this chatbot's vocabulary.
    expect(await search('delivry OR "refnds" ~2 (pasword')).not.toHaveLength(0);
    await searchKnowledge(store, { chatbotId: 'cb2', query: 'delivry' });
    await store.settle();
    expect(await searchKnowledge(store, { chatbotId: 'cb2', query: 'delivry' })).toEqual([]);
  });

  it('should use a separate lexical query for the full-text leg only', async () => {
    const { store } = await openStore();
    await store.add([row('cb1', 's1', 0, 'shipping costs and delivery times')]);
    const hits = await searchKnowledge(store, {
      chatbotId: 'cb1',
      query: 'frais de livraison',
      lexicalQuery: 'delivery costs',
    });
    expect(hits.map((h) => h.sourceId)).toEqual(['s1']);
  });

  it('should record the embedding space and re-embed when it changes, never mixing models', async () => {
    const dir = tempDir();
    const first = await openStore(null, dir);
    await first.store.add([row('cb1', 's1', 0, 'alpha beta'), row('cb1', 's2', 0, 'gamma delta')]);
    await first.store.settle();
    first.store.close();

    // Same data dir, now with an embedder: the index is stale until re-embedded.
    const embedder = new FakeEmbedder(16, 'fake-a');
    const db = first.db;
    const store = await LanceKnowledgeStore.open({ conn: first.conn, db, log, embedder });
    open.push({ db, store, cleanup: () => {} });
    expect(store.indexedSpace).toBe('none');
    expect(store.stale).toBe(true);
    expect(store.vectorsReady).toBe(false);
    expect((await searchKnowledge(store, { chatbotId: 'cb1', query: 'alpha' })).length).toBe(1);

    const progress: number[] = [];
    expect(await store.reembed((done) => progress.push(done))).toBe(2);
    expect(progress.at(-1)).toBe(2);
    expect(store.stale).toBe(false);
    expect(store.indexedSpace).toBe('openai:fake-a:16');
    expect(embedder.embedded).toBe(2);
    const hits = await searchKnowledge(store, { chatbotId: 'cb1', query: 'gamma', explain: true });
    expect(hits[0]?.sourceId).toBe('s2');
    expect(hits[0]?.explain?.vector).not.toBeNull();
    const record = db.query('SELECT provider, model, dimension FROM knowledge_index').get();
    expect(record).toEqual({ provider: 'openai', model: 'fake-a', dimension: 16 });
  });
});
