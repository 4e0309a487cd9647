// The chunk index: one LanceDB table of chunks with a full-text index (and vectors when an
// embedder is configured), one table handle per process, writes serialised, optimize() in the
// background.
import type { Database } from 'bun:sqlite';
import * as lancedb from '@lancedb/lancedb';
import { type Clock, systemClock } from '../clock.ts';
import { type Embedder, embedderId } from '../embeddings/types.ts';
import type { Logger } from '../logging.ts';
import type { LanceConnection } from '../storage/lancedb/db.ts';
import { type Analysis, prepare, rawTextColumn } from './analysis.ts';
import {
  AnalyzerColumns,
  clearAnalyzerColumn,
  fillAnalyzerColumn,
  forgetAnalysis,
  recordAnalysis,
  recordedAnalysis,
} from './analysis-store.ts';
import { APPEND_SLICE_ROWS, appendInSlices, appendSlices } from './append.ts';
import {
  type ChunkRow,
  chunkTable,
  STORED_COLUMNS,
  type StoredChunk,
  storedChunkOf,
} from './chunk-arrow.ts';
import { embedAll, embedTextOf } from './chunk-rows.ts';
import {
  BASE_TABLE,
  createChunksTable,
  type IndexRecord,
  loadIndexRecord,
  nextTableName,
  saveIndexRecord,
} from './index-table.ts';
import { Mutex } from './mutex.ts';
import { Optimizer } from './optimizer.ts';
import { copyIntoNewTable } from './reembed.ts';
import {
  slices,
  sourceScope,
  sqlString,
  stagedReplace,
  UNSEEN_ROWS,
  WRITE_SLICE_CHARS,
} from './replace.ts';
import type { Vocabulary } from './spell.ts';
import { readVocabulary, VocabularyCache } from './vocabulary-cache.ts';

export type { ChunkRow, StoredChunk } from './chunk-arrow.ts';

export type LegHit = { chunk: StoredChunk; score: number };

/** Rows past which the vector column gets an index (below it, brute force is fast enough). */
export const VECTOR_INDEX_MIN_ROWS = 20_000;
/** Quiet time after the last write before the background optimize() runs. */
export const OPTIMIZE_DELAY_MS = 2_000;

const stamp = (clock: Clock = systemClock) => new Date(clock.now());

type StoreOptions = {
  conn: LanceConnection;
  db: Database;
  log: Logger;
  embedder: Embedder | null;
  /** Stamps the SQLite record of the index (defaults to the system clock). */
  clock?: Clock;
  optimizeDelayMs?: number;
  vectorIndexMinRows?: number;
  writeSliceChars?: number;
  appendSliceRows?: number;
};

/**
 * The chunk index over LanceDB. Create one per process with `LanceKnowledgeStore.open()`.
 *
 * The physical table is named in SQLite (`knowledge_index`) together with the embedding space
 * (provider, model, dimension) its vectors come from. When the configured embedder differs, the
 * store is `stale`: the vector leg is off (vectors of two models are never compared) until
 * `reembed()` has copied every chunk into a fresh table with new vectors and swapped to it.
 */
export class LanceKnowledgeStore {
  #table: lancedb.Table;
  #columns: AnalyzerColumns;
  #record: IndexRecord;
  #writes = new Mutex();
  #optimizer: Optimizer;
  #vocabularies: VocabularyCache;
  #embedder: Embedder | null;
  readonly writeSliceChars: number;
  readonly appendSliceRows: number;

  private constructor(
    private readonly opts: StoreOptions,
    table: lancedb.Table,
    record: IndexRecord,
    columns: AnalyzerColumns,
  ) {
    this.#table = table;
    this.#columns = columns;
    this.#record = record;
    this.#embedder = opts.embedder;
    this.writeSliceChars = opts.writeSliceChars ?? WRITE_SLICE_CHARS;
    this.appendSliceRows = opts.appendSliceRows ?? APPEND_SLICE_ROWS;
    this.#optimizer = new Optimizer({
      table: () => this.#table,
      vectorsReady: () => this.vectorsReady,
      delayMs: opts.optimizeDelayMs ?? OPTIMIZE_DELAY_MS,
      vectorIndexMinRows: opts.vectorIndexMinRows ?? VECTOR_INDEX_MIN_ROWS,
      log: opts.log,
    });
    this.#vocabularies = new VocabularyCache((id) => {
      const analysis = this.analysisOf(id);
      return readVocabulary(this.#table, id, analysis ? rawTextColumn(analysis) : 'search_text');
    }, opts.log);
  }

  /** Opens (or creates) the chunks table recorded in SQLite. */
  static async open(opts: StoreOptions): Promise<LanceKnowledgeStore> {
    const { conn, db, log, embedder } = opts;
    let record = loadIndexRecord(db);
    const names = await conn.tableNames();
    let table: lancedb.Table;
    if (record && names.includes(record.table_name)) {
      table = await conn.openTable(record.table_name);
    } else {
      record = {
        table_name: record?.table_name ?? BASE_TABLE,
        provider: embedder?.provider ?? 'none',
        model: embedder?.model ?? null,
        dimension: embedder?.dimension ?? null,
      };
      table = names.includes(record.table_name)
        ? await conn.openTable(record.table_name)
        : await createChunksTable(conn, record.table_name, record.dimension);
      saveIndexRecord(db, record, stamp(opts.clock));
    }
    // Rows of a replace a crash interrupted (staged or replaced): never seen by a search.
    if ((await table.countRows(UNSEEN_ROWS)) > 0) await table.delete(UNSEEN_ROWS);
    const now = () => stamp(opts.clock);
    const columns = await AnalyzerColumns.of(table, { db, now, dimension: record.dimension });
    const store = new LanceKnowledgeStore(opts, table, record, columns);
    const indices = await table.listIndices().catch(() => []);
    if (indices.some((i) => (i.numUnindexedRows ?? 0) > 0)) {
      store.#optimizer.schedule();
    }
    if (store.stale) {
      log.warn(
        { indexed: store.indexedSpace, configured: store.configuredSpace },
        'the chunk index holds another embedding space: vector search is off until `answerdesk reembed` (or POST /api/v1/reindex) has run',
      );
    }
    return store;
  }

  /** The configured embedder (null: full-text only); `useEmbedder` replaces it while serving. */
  get embedder(): Embedder | null {
    return this.#embedder;
  }

  /** The embedding space of the vectors in the index (`none` when it has none). */
  get indexedSpace(): string {
    const r = this.#record;
    return r.provider === 'none' ? 'none' : `${r.provider}:${r.model}:${r.dimension}`;
  }

  get configuredSpace(): string {
    return this.embedder ? embedderId(this.embedder) : 'none';
  }

  /** True when the index's vectors are not those of the configured embedder. */
  get stale(): boolean {
    return this.indexedSpace !== this.configuredSpace;
  }

  /** True when search can use the vector leg. */
  get vectorsReady(): boolean {
    return this.embedder !== null && !this.stale;
  }

  get tableName(): string {
    return this.#record.table_name;
  }

  /** Embeds `rows` for the current table, or returns undefined when the table has no vectors. */
  async #vectorsFor(rows: ChunkRow[]): Promise<(Float32Array | null)[] | undefined> {
    if (this.#record.dimension === null) return undefined;
    if (!this.vectorsReady || !this.embedder) return rows.map(() => null);
    return embedAll(this.embedder, rows.map(embedTextOf));
  }

  /** Embeds rows for the current table (call before `add`/`replaceSource` to embed outside the write lock). */
  async embedRows(rows: ChunkRow[]): Promise<(Float32Array | null)[] | undefined> {
    return this.#vectorsFor(rows);
  }

  /** The analysis a chatbot's chunks are indexed and searched with; null before its first chunk. */
  analysisOf(chatbotId: string): Analysis | null {
    return recordedAnalysis(this.opts.db, chatbotId);
  }

  async #arrow(rows: ChunkRow[], vectors: (Float32Array | null)[] | undefined) {
    const analysisOf = await this.#columns.forRows(rows);
    return chunkTable(this.#columns.schema, rows, vectors, analysisOf);
  }

  /**
   * Appends chunks of sources that have none yet (new sources, bulk loads) in slices of at most
   * `appendSliceRows` rows and `writeSliceChars` characters, one commit each (append.ts); a
   * failed add leaves none of its rows. `vectors` from `embedRows()` may be passed to embed
   * outside the write lock.
   */
  async add(rows: ChunkRow[], vectors?: (Float32Array | null)[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#writes.run(async () => {
      const v = await this.#checkedVectors(rows, vectors);
      // The analyzer columns the rows need are added once, before the first slice.
      const analysisOf = await this.#columns.forRows(rows);
      const schema = this.#columns.schema;
      const parts = appendSlices(rows, this.writeSliceChars, this.appendSliceRows);
      await appendInSlices(this.#table, rows, v, parts, (part, pv) =>
        chunkTable(schema, part, pv, analysisOf),
      );
    });
    for (const id of new Set(rows.map((r) => r.chatbotId))) this.#vocabularies.changed(id);
    this.#optimizer.schedule();
  }

  /**
   * Replaces every chunk of one source with `rows` in a single commit: readers see either the old
   * chunks or the new ones, never both and never neither. Rows that fit in one write go in as
   * one merge-insert on the chunk id (deleting the source's unmatched old rows in the same
   * transaction); larger sets are staged in slices of `writeSliceChars` (replace.ts).
   */
  async replaceSource(
    chatbotId: string,
    sourceId: string,
    rows: ChunkRow[],
    vectors?: (Float32Array | null)[],
  ): Promise<void> {
    await this.#writes.run(async () => {
      const scope = sourceScope(chatbotId, sourceId);
      if (rows.length === 0) {
        await this.#table.delete(scope);
        return;
      }
      const v = await this.#checkedVectors(rows, vectors);
      const parts = slices(rows, this.writeSliceChars);
      if (parts.length === 1) {
        await this.#table
          .mergeInsert('id')
          .whenMatchedUpdateAll()
          .whenNotMatchedInsertAll()
          .whenNotMatchedBySourceDelete({ where: scope })
          .execute(await this.#arrow(rows, v));
      } else {
        // Staged rows carry another chatbot id: the analysis is the source's chatbot's.
        const analysis = (await this.#columns.forRows(rows))(rows[0] as ChunkRow);
        const toArrow = (part: ChunkRow[], pv: (Float32Array | null)[] | undefined) =>
          chunkTable(this.#columns.schema, part, pv, () => analysis);
        await stagedReplace(this.#table, { chatbotId, sourceId }, rows, v, parts, toArrow);
      }
    });
    this.#vocabularies.changed(chatbotId);
    this.#optimizer.schedule();
  }

  /** Vectors computed before a re-embed swapped the table are recomputed under the lock. */
  async #checkedVectors(rows: ChunkRow[], vectors: (Float32Array | null)[] | undefined) {
    if (this.#record.dimension === null) return undefined;
    const fits =
      vectors &&
      vectors.length === rows.length &&
      vectors.every((x) => x === null || x.length === this.#record.dimension) &&
      (!this.vectorsReady || vectors.every((x) => x !== null));
    return fits ? vectors : this.#vectorsFor(rows);
  }

  async deleteSource(chatbotId: string, sourceId: string): Promise<void> {
    await this.#writes.run(() => this.#table.delete(sourceScope(chatbotId, sourceId)));
    this.#vocabularies.changed(chatbotId);
    this.#optimizer.schedule();
  }

  async deleteChatbot(chatbotId: string): Promise<void> {
    await this.#writes.run(async () => {
      await this.#table.delete(`chatbot_id = ${sqlString(chatbotId)}`);
      forgetAnalysis(this.opts.db, chatbotId);
    });
    this.#vocabularies.forget(chatbotId);
    this.#optimizer.schedule();
  }

  async countChunks(chatbotId?: string, sourceId?: string): Promise<number> {
    const parts: string[] = [];
    if (chatbotId !== undefined) parts.push(`chatbot_id = ${sqlString(chatbotId)}`);
    if (sourceId !== undefined) parts.push(`source_id = ${sqlString(sourceId)}`);
    return this.#table.countRows(parts.length ? parts.join(' AND ') : undefined);
  }

  /** Chunks of one source in document order (for tests and tools). */
  async sourceChunks(chatbotId: string, sourceId: string): Promise<StoredChunk[]> {
    const rows = await this.#table
      .query()
      .where(sourceScope(chatbotId, sourceId))
      .select(STORED_COLUMNS)
      .toArray();
    return rows.map(storedChunkOf).sort((a, b) => a.position - b.position);
  }

  /**
   * BM25 full-text search within one chatbot, in the column and with the analysis of its chunks,
   * the query matched as words (a MatchQuery: LanceDB reads a string in double quotes as a phrase
   * query, which fails on our position-less index).
   */
  async searchText(chatbotId: string, query: string, limit: number): Promise<LegHit[]> {
    const analysis = this.analysisOf(chatbotId);
    if (!analysis || !/[\p{L}\p{N}]/u.test(query)) return [];
    const rows = await this.#table
      .query()
      .fullTextSearch(new lancedb.MatchQuery(prepare(query, analysis), analysis.column))
      .where(`chatbot_id = ${sqlString(chatbotId)}`)
      .select(STORED_COLUMNS)
      .limit(limit)
      .toArray();
    return rows.map((r) => ({ chunk: storedChunkOf(r), score: Number(r._score ?? 0) }));
  }

  /** Nearest chunks by cosine similarity (score = 1 − cosine distance) within one chatbot. */
  async searchVector(chatbotId: string, vector: Float32Array, limit: number): Promise<LegHit[]> {
    if (!this.vectorsReady) return [];
    const rows = await this.#table
      .vectorSearch(vector)
      .column('vector')
      .distanceType('cosine')
      .where(`chatbot_id = ${sqlString(chatbotId)}`)
      .select(STORED_COLUMNS)
      .limit(limit)
      .toArray();
    return rows.map((r) => ({ chunk: storedChunkOf(r), score: 1 - Number(r._distance ?? 1) }));
  }

  /**
   * The words indexed for one chatbot (typo correction of the full-text query), or null while the
   * first one is being built (vocabulary-cache.ts); searches never wait for it.
   */
  vocabulary(chatbotId: string): Vocabulary | null {
    return this.#vocabularies.get(chatbotId);
  }

  /** Embeds a search query with the configured embedder (null when vectors are off). */
  async embedQuery(query: string, signal?: AbortSignal): Promise<Float32Array | null> {
    if (!this.vectorsReady || !this.embedder) return null;
    const [vector] = await this.embedder.embed([query], 'query', signal);
    return vector ?? null;
  }

  /** Runs a pending optimize now and waits for it and for vocabulary rebuilds (tests, CLI, shutdown). */
  async settle(): Promise<void> {
    await this.#writes.run(async () => undefined);
    await this.#optimizer.settle();
    await this.#vocabularies.settle();
  }

  /** Stops scheduling background work (shutdown). */
  close(): void {
    this.#optimizer.close();
    this.#vocabularies.close();
  }

  /**
   * Re-indexes one chatbot's chunks with `target` (its knowledge language changed): fills the
   * target's column while searches keep using the recorded analysis, then records the switch and
   * empties the old column. Writes wait meanwhile. Returns the chunks re-indexed.
   */
  async reanalyse(chatbotId: string, target: Analysis): Promise<number> {
    const { db, clock } = this.opts;
    const filled = await this.#writes.run(async () => {
      const current = this.analysisOf(chatbotId);
      if (current?.key === target.key) return 0;
      await this.#columns.ensure(target);
      const n = current ? await fillAnalyzerColumn(this.#table, chatbotId, current, target) : 0;
      recordAnalysis(db, chatbotId, target.key, stamp(clock));
      if (current) await clearAnalyzerColumn(this.#table, chatbotId, current, target);
      return n;
    });
    this.#vocabularies.changed(chatbotId);
    this.#optimizer.schedule();
    return filled;
  }

  /**
   * Rebuilds the index in the configured embedding space: copies every chunk into a new table
   * with fresh vectors (or none), builds its indexes, records it in SQLite and swaps to it; the
   * old table is dropped. Searches keep using the old table (full-text only) meanwhile; writes
   * wait. Returns the number of chunks copied.
   */
  async reembed(onProgress?: (done: number, total: number) => void): Promise<number> {
    const { conn, db, log } = this.opts;
    const copied = await this.#writes.run(async () => {
      const oldName = this.#record.table_name;
      const record: IndexRecord = {
        table_name: nextTableName(oldName),
        provider: this.embedder?.provider ?? 'none',
        model: this.embedder?.model ?? null,
        dimension: this.embedder?.dimension ?? null,
      };
      const next = await copyIntoNewTable({
        conn,
        old: this.#table,
        record,
        embedder: this.embedder,
        analysisOf: (chatbotId) => this.analysisOf(chatbotId),
        onProgress,
      });
      this.#table = next.table;
      const now = () => stamp(this.opts.clock);
      this.#columns = await AnalyzerColumns.of(next.table, {
        db,
        now,
        dimension: record.dimension,
      });
      this.#record = record;
      this.#vocabularies.clear();
      saveIndexRecord(db, record, stamp(this.opts.clock));
      await conn.dropTable(oldName);
      log.info({ chunks: next.copied, space: this.indexedSpace }, 'chunk index re-embedded');
      this.#optimizer.schedule();
      return next.copied;
    });
    await this.settle();
    return copied;
  }

  /**
   * Switches to `embedder` while serving (a model pulled at start, src/models/auto-pull.ts) and
   * re-embeds every chunk into its space. Searches stay full-text (the index is stale) until the
   * re-embed swaps the table. Returns the number of chunks copied.
   */
  async useEmbedder(embedder: Embedder): Promise<number> {
    await this.#writes.run(async () => {
      this.#embedder = embedder;
    });
    return this.reembed();
  }
}
