import { afterEach, describe, expect, it } from 'bun:test';
import { join } from 'node:path';
import { appendInSlices, appendSlices } from '../../src/knowledge/append.ts';
import { type ChunkRow, chunkSchema, chunkTable } from '../../src/knowledge/chunk-arrow.ts';
import { LanceKnowledgeStore } from '../../src/knowledge/index-store.ts';
import { createChunksTable } from '../../src/knowledge/index-table.ts';
import { createLogger } from '../../src/logging.ts';
import { openLance } from '../../src/storage/lancedb/db.ts';
import { openDatabase } from '../../src/storage/sqlite/db.ts';
import { tempDir } from '../helpers/app.ts';
import { FakeEmbedder } from './fake-embedder.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A made-up word of letters only, one per row, so each row has a search term of its own. */
const wordOf = (i: number) =>
  `zed${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`;

const row = (chatbotId: string, sourceId: string, i: number, text = `${wordOf(i)} text`) =>
  ({
    id: `${sourceId}-${i}`,
    chatbotId,
    sourceId,
    title: 'Title',
    url: null,
    heading: '',
    position: i,
    text,
    searchText: text,
  }) satisfies ChunkRow;

describe('appendSlices', () => {
  it('should cut rows into slices of at most maxRows rows, in order, covering every row', () => {
    const rows = Array.from({ length: 25 }, (_, i) => row('cb1', 's1', i));
    expect(appendSlices(rows, 1_000_000, 10)).toEqual([
      [0, 10],
      [10, 20],
      [20, 25],
    ]);
  });

  it('should cut rows by characters when they reach maxChars before maxRows', () => {
    const rows = Array.from({ length: 6 }, (_, i) => row('cb1', 's1', i, 'x'.repeat(50)));
    // 100 characters per row (text and search text): a slice closes at 200.
    expect(appendSlices(rows, 200, 1_000)).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
    ]);
  });
});

describe('LanceKnowledgeStore.add in bounded slices', () => {
  it('should write a bulk add as commits of at most appendSliceRows rows, every row searchable afterwards', async () => {
    const dir = tempDir();
    const db = openDatabase(join(dir.dir, 'answerdesk.sqlite'));
    const conn = await openLance(dir.dir);
    const embedder = new FakeEmbedder(16);
    const store = await LanceKnowledgeStore.open({
      conn,
      db,
      log: createLogger('silent'),
      embedder,
      optimizeDelayMs: 60_000,
      appendSliceRows: 10,
    });
    cleanups.push(() => {
      store.close();
      db.close();
      dir.cleanup();
    });
    const rows = Array.from({ length: 95 }, (_, i) =>
      row(`cb${i % 2}`, `s${Math.floor(i / 5)}`, i),
    );
    await store.add(rows);

    const stats = await (await conn.openTable(store.tableName)).stats();
    expect(stats.fragmentStats.numFragments).toBe(10);
    expect(stats.fragmentStats.lengths.max).toBe(10);
    expect(await store.countChunks()).toBe(95);
    for (const [i, r] of rows.entries()) {
      const hits = await store.searchText(r.chatbotId, wordOf(i), 5);
      expect(hits.map((h) => h.chunk.id)).toContain(r.id);
    }
    for (const chatbotId of ['cb0', 'cb1']) {
      const hits = await store.searchVector(chatbotId, embedder.embedOne('text'), 100);
      const expected = rows.filter((r) => r.chatbotId === chatbotId).map((r) => r.id);
      expect(hits.map((h) => h.chunk.id).sort()).toEqual(expected.sort());
    }
  });
});

describe('appendInSlices', () => {
  it('should leave none of its rows when a slice fails, and keep the rows of other sources', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const table = await createChunksTable(await openLance(dir.dir), 'chunks', null);
    const schema = chunkSchema(null);
    await table.add(chunkTable(schema, [row('cb1', 'old', 0)], undefined));
    const rows = Array.from({ length: 30 }, (_, i) => row(i < 15 ? 'cb1' : 'cb2', `s${i % 4}`, i));
    let calls = 0;
    const failing = (slice: ChunkRow[]) => {
      if (++calls === 3) throw new Error('disk full');
      return chunkTable(schema, slice, undefined);
    };
    const parts = appendSlices(rows, 1_000_000, 10);
    await expect(appendInSlices(table, rows, undefined, parts, failing)).rejects.toThrow(
      'disk full',
    );
    expect(calls).toBe(3);
    expect(await table.countRows()).toBe(1);
    expect(await table.countRows("source_id = 'old'")).toBe(1);
  });
});
