// Re-embedding: every chunk copied into a fresh table with vectors of the configured embedder (or
// none), so that vectors of two models are never compared.
import type * as lancedb from '@lancedb/lancedb';
import type { Embedder } from '../embeddings/types.ts';
import type { LanceConnection } from '../storage/lancedb/db.ts';
import { type Analysis, rawTextColumn } from './analysis.ts';
import { addAnalyzerColumn, indexedAnalyses, schemaOf } from './analysis-store.ts';
import { type ChunkRow, chunkTable, STORED_COLUMNS, storedChunkOf } from './chunk-arrow.ts';
import { embedAll, embedTextOf } from './chunk-rows.ts';
import { createChunksTable, type IndexRecord } from './index-table.ts';

/** Rows copied (and embedded) per write. */
const COPY_BATCH_ROWS = 2048;

/**
 * Creates the table `record` names (dropping a leftover of that name) and copies every chunk of
 * `old` into it, embedded with `embedder` when the record has a dimension, with the analyzer
 * columns of `old` (each row in its chatbot's). Returns the new table and the number of chunks
 * copied; the caller records it and swaps.
 */
export async function copyIntoNewTable(opts: {
  conn: LanceConnection;
  old: lancedb.Table;
  record: IndexRecord;
  embedder: Embedder | null;
  analysisOf: (chatbotId: string) => Analysis | null;
  onProgress?: (done: number, total: number) => void;
}): Promise<{ table: lancedb.Table; copied: number }> {
  const { conn, old, record, embedder } = opts;
  const names = await conn.tableNames();
  if (names.includes(record.table_name)) await conn.dropTable(record.table_name);
  const table = await createChunksTable(conn, record.table_name, record.dimension);
  const analyses = await indexedAnalyses(old);
  for (const analysis of analyses) await addAnalyzerColumn(table, analysis);
  const schema = await schemaOf(table, record.dimension);
  const analysisOf = (r: ChunkRow) => opts.analysisOf(r.chatbotId);
  const total = await old.countRows();
  let copied = 0;
  const batch: ChunkRow[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const vectors =
      record.dimension === null || !embedder
        ? undefined
        : await embedAll(embedder, batch.map(embedTextOf));
    await table.add(chunkTable(schema, batch, vectors, analysisOf));
    copied += batch.length;
    batch.length = 0;
    opts.onProgress?.(copied, total);
  };
  for await (const records of old
    .query()
    .select([...STORED_COLUMNS, 'chatbot_id', 'search_text', ...analyses.map((a) => a.column)])) {
    for (const r of records.toArray()) {
      const chatbotId = String(r.chatbot_id);
      const a = opts.analysisOf(chatbotId);
      batch.push({
        ...storedChunkOf(r),
        chatbotId,
        searchText: String(r[a ? rawTextColumn(a) : 'search_text'] ?? ''),
      });
      if (batch.length >= COPY_BATCH_ROWS) await flush();
    }
  }
  await flush();
  return { table, copied };
}
