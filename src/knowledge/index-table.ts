// The chunks table: how it is created (schema and chatbot index), its vector index,
// and the SQLite record (`knowledge_index`) of which table holds which embedding space.
import type { Database } from 'bun:sqlite';
import * as lancedb from '@lancedb/lancedb';
import type { LanceConnection } from '../storage/lancedb/db.ts';
import { chunkSchema } from './chunk-arrow.ts';

/**
 * The vector index: IVF_FLAT (exact distances within the probed partitions). Measured at 100k ×
 * 384 dims with the chatbot filter on this 2-core machine (busy): IVF_FLAT/64 builds in 4 s, p50
 * 5.7 ms, recall@10 1.00; HNSW-SQ builds in 33 s (ef 100) to 570 s (defaults, 1 partition), p50
 * 6 ms, recall 0.99; IVF_PQ builds in 166 s, recall 0.53. Partitions grow with the table (about
 * √rows / 5), so a probe (LanceDB's default 20 partitions) scans a bounded share of it.
 */
export function vectorIndexFor(rows: number) {
  const numPartitions = Math.max(16, Math.round(Math.sqrt(rows) / 5));
  return lancedb.Index.ivfFlat({ distanceType: 'cosine', numPartitions });
}

/** Which table holds the chunks, and the embedding space of its vectors (`none`: no vectors). */
export type IndexRecord = {
  table_name: string;
  provider: string;
  model: string | null;
  dimension: number | null;
};

export const BASE_TABLE = 'chunks';

export function loadIndexRecord(db: Database): IndexRecord | null {
  return db
    .query<IndexRecord, []>(
      'SELECT table_name, provider, model, dimension FROM knowledge_index WHERE id = 1',
    )
    .get();
}

export function saveIndexRecord(db: Database, r: IndexRecord, now: Date): void {
  db.query(
    `INSERT INTO knowledge_index (id, table_name, provider, model, dimension, updated_at)
     VALUES (1, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET table_name = excluded.table_name, provider = excluded.provider,
       model = excluded.model, dimension = excluded.dimension, updated_at = excluded.updated_at`,
  ).run(r.table_name, r.provider, r.model, r.dimension, now.toISOString());
}

/** The name of the table a re-embed builds next to `current` (chunks → chunks_2 → chunks_3 …). */
export function nextTableName(current: string): string {
  const m = /^chunks_(\d+)$/.exec(current);
  return `chunks_${m ? Number(m[1]) + 1 : 2}`;
}

export async function createChunksTable(
  conn: LanceConnection,
  name: string,
  dimension: number | null,
): Promise<lancedb.Table> {
  const table = await conn.createEmptyTable(name, chunkSchema(dimension));
  // Full-text indexes come with their analyzer columns, on first use (analysis-store.ts).
  await table.createIndex('chatbot_id', { config: lancedb.Index.btree() });
  return table;
}
