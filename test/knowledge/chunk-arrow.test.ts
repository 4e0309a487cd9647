// Chunk rows built into Arrow columns read back as the same rows (strings, nulls, vectors).
import { describe, expect, it } from 'bun:test';
import { chunkSchema, chunkTable } from '../../src/knowledge/chunk-arrow.ts';
import type { ChunkRow } from '../../src/knowledge/index-store.ts';

const row = (i: number, over: Partial<ChunkRow> = {}): ChunkRow => ({
  id: `chunk_${i}`,
  chatbotId: 'cb_1',
  sourceId: `src_${i}`,
  title: `Title ${i}`,
  url: `https://example.test/${i}`,
  heading: '',
  position: i,
  text: `Text ${i}`,
  searchText: `title ${i} text ${i}`,
  ...over,
});

describe('chunk rows as Arrow columns', () => {
  it('should read back every field, null URLs and non-ASCII text included', () => {
    const rows = [
      row(0),
      row(1, { url: null, title: 'Préférences ☕ 日本語', text: '' }),
      row(2, { heading: 'Réglages > Compte' }),
    ];
    const table = chunkTable(chunkSchema(null), rows, undefined);
    expect(table.numRows).toBe(3);
    expect(table.schema.fields.map((f) => f.name)).not.toContain('vector');
    const back = table.toArray().map((r) => r.toJSON());
    expect(back[1]).toMatchObject({
      url: null,
      title: 'Préférences ☕ 日本語',
      text: '',
      position: 1,
    });
    expect(back.map((r) => r.id)).toEqual(['chunk_0', 'chunk_1', 'chunk_2']);
    expect(back[2]).toMatchObject({
      chatbot_id: 'cb_1',
      source_id: 'src_2',
      heading: 'Réglages > Compte',
      search_text: 'title 2 text 2',
      url: 'https://example.test/2',
    });
  });

  it('should store vectors in order and a row without one as null', () => {
    const vectors = [Float32Array.from([1, 2, 3]), null, Float32Array.from([7, 8, 9])];
    const table = chunkTable(chunkSchema(3), [row(0), row(1), row(2)], vectors);
    const column = table.getChild('vector')!;
    expect(column.nullCount).toBe(1);
    expect([...column.get(0)!.toArray()]).toEqual([1, 2, 3]);
    expect(column.get(1)).toBeNull();
    expect([...column.get(2)!.toArray()]).toEqual([7, 8, 9]);
  });
});
