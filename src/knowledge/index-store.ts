// The chunk index: one LanceDB table of chunks with a full-text index (and vectors when an
// embedder is configured), one table handle per process, writes serialised, optimize() in the
// background.
import type { Database } from 'bun:sqlite';
import * as lancedb from '@lancedb/lancedb';
import { type Embedder, embedderId } from '../embeddings/types.ts';
import type { Logger } from '../logging.ts';
import { withBoundedNativeMemory } from '../native-env.ts';
import type { LanceConnection } from '../storage/lancedb/db.ts';
import { type ChunkRow, chunkSchema, chunkTable } from './chunk-arrow.ts';
import { countWords, type Vocabulary, vocabularyOf } from './spell.ts';

/** A chunk as the index stores it (the vector is added by the store). */
export type { ChunkRow } from './chunk-arrow.ts';

export type StoredChunk = Omit<ChunkRow, 'searchText' | 'chatbotId'>;
export type LegHit = { chunk: StoredChunk; score: number };

/**
 * Full-text analysis: the "simple" tokenizer (split on whitespace and punctuation), lowercase,
 * English stemming, English stop words, ASCII folding. Measured on the eval sets (see
 * docs/notes/knowledge.md): stemming and stop words are worth +0.02 to +0.06 nDCG@10. Positions
 * are not stored: queries are matched as bags of words, never as phrases.
 */
export const FTS_OPTIONS = {
  baseTokenizer: 'simple',
  language: 'English',
  lowercase: true,
  stem: true,
  removeStopWords: true,
  asciiFolding: true,
  withPosition: false,
} as const;

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

/** Rows past which the vector column gets an index (below it, brute force is fast enough). */
export const VECTOR_INDEX_MIN_ROWS = 20_000;
/** Quiet time after the last write before the background optimize() runs. */
export const OPTIMIZE_DELAY_MS = 2_000;
/** Texts per embedder call. */
export const EMBED_BATCH_SIZE = 64;

/**
 * Chatbots whose vocabulary (for typo correction, see spell.ts) stays in memory; the least recently
 * searched is dropped past this. Measured: 10 chatbots × 10k chunks add 50–110 MiB to the serving
 * RSS (bench:retrieval, including the scans' high-water mark).
 */
export const VOCABULARY_CACHE_CHATBOTS = 32;

type VocabularyEntry = {
  vocab: Vocabulary | null;
  building: Promise<Vocabulary | null> | null;
  /** Bumped by every write to the chatbot: a vocabulary built from an older generation is stale. */
  generation: number;
  builtGeneration: number;
  /** No background rebuild before this time (ms since epoch). */
  nextBuildAt: number;
};

/**
 * A stale vocabulary is rebuilt at most once per this many times its last build duration, so
 * rebuilds take at most ~10 % of a core while a crawl keeps writing (scifact's 5.8k chunks build
 * in ~0.3 s; 100k long chunks of one chatbot would take seconds).
 */
export const VOCABULARY_REBUILD_SPACING = 10;

const BASE_TABLE = 'chunks';
const COLUMNS = ['id', 'source_id', 'title', 'url', 'heading', 'position', 'text'];

/** What the embedder sees for a chunk: title (unless the text starts with it), headings, text. */
export function embedTextOf(row: Pick<ChunkRow, 'title' | 'heading' | 'text'>): string {
  const title = row.title.trim();
  return [title && !row.text.startsWith(title) ? title : '', row.heading, row.text]
    .filter(Boolean)
    .join('\n');
}

/** Quotes a value as an SQL string literal for LanceDB filters (a quote is doubled). */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

type IndexRecord = {
  table_name: string;
  provider: string;
  model: string | null;
  dimension: number | null;
};

function fromLance(r: Record<string, unknown>): StoredChunk {
  return {
    id: String(r.id),
    sourceId: String(r.source_id),
    title: String(r.title ?? ''),
    url: r.url == null ? null : String(r.url),
    heading: String(r.heading ?? ''),
    position: Number(r.position ?? 0),
    text: String(r.text ?? ''),
  };
}

/** Serialises async work: each task starts when the previous one has settled. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

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
  #record: IndexRecord;
  #writes = new Mutex();
  #optimizeTimer: ReturnType<typeof setTimeout> | undefined;
  #optimizing: Promise<void> | undefined;
  #dirty = false;
  #closed = false;
  #vocabularies = new Map<string, VocabularyEntry>();
  /** One vocabulary build at a time: each scans a chatbot's chunks, and parallel scans add up in RSS. */
  #vocabularyBuilds = new Mutex();

  private constructor(
    private readonly conn: LanceConnection,
    private readonly db: Database,
    private readonly log: Logger,
    readonly embedder: Embedder | null,
    table: lancedb.Table,
    record: IndexRecord,
    readonly optimizeDelayMs: number,
    readonly vectorIndexMinRows: number,
  ) {
    this.#table = table;
    this.#record = record;
  }

  /** Opens (or creates) the chunks table recorded in SQLite. */
  static async open(opts: {
    conn: LanceConnection;
    db: Database;
    log: Logger;
    embedder: Embedder | null;
    optimizeDelayMs?: number;
    vectorIndexMinRows?: number;
  }): Promise<LanceKnowledgeStore> {
    const { conn, db, log, embedder } = opts;
    let record = db
      .query<IndexRecord, []>(
        'SELECT table_name, provider, model, dimension FROM knowledge_index WHERE id = 1',
      )
      .get();
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
      saveRecord(db, record);
    }
    const store = new LanceKnowledgeStore(
      conn,
      db,
      log,
      embedder,
      table,
      record,
      opts.optimizeDelayMs ?? OPTIMIZE_DELAY_MS,
      opts.vectorIndexMinRows ?? VECTOR_INDEX_MIN_ROWS,
    );
    const indices = await table.listIndices().catch(() => []);
    if (indices.some((i) => (i.numUnindexedRows ?? 0) > 0)) {
      store.#scheduleOptimize();
    }
    if (store.stale) {
      log.warn(
        { indexed: store.indexedSpace, configured: store.configuredSpace },
        'the chunk index holds another embedding space: vector search is off until `answerdesk reembed` (or POST /api/v1/reindex) has run',
      );
    }
    return store;
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

  /**
   * Appends chunks of sources that have none yet (new sources, bulk loads): one commit per call.
   * `vectors` from `embedRows()` may be passed to embed outside the write lock.
   */
  async add(rows: ChunkRow[], vectors?: (Float32Array | null)[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#writes.run(async () => {
      const v = await this.#checkedVectors(rows, vectors);
      await this.#table.add(chunkTable(chunkSchema(this.#record.dimension), rows, v));
    });
    for (const id of new Set(rows.map((r) => r.chatbotId))) this.#vocabularyChanged(id);
    this.#scheduleOptimize();
  }

  /**
   * Replaces every chunk of one source with `rows` in a single commit: readers see either the old
   * chunks or the new ones, never both and never neither (merge-insert on the chunk id, deleting
   * the source's unmatched old rows in the same transaction).
   */
  async replaceSource(
    chatbotId: string,
    sourceId: string,
    rows: ChunkRow[],
    vectors?: (Float32Array | null)[],
  ): Promise<void> {
    await this.#writes.run(async () => {
      const scope = `chatbot_id = ${sqlString(chatbotId)} AND source_id = ${sqlString(sourceId)}`;
      if (rows.length === 0) {
        await this.#table.delete(scope);
        return;
      }
      const v = await this.#checkedVectors(rows, vectors);
      await this.#table
        .mergeInsert('id')
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .whenNotMatchedBySourceDelete({ where: scope })
        .execute(chunkTable(chunkSchema(this.#record.dimension), rows, v));
    });
    this.#vocabularyChanged(chatbotId);
    this.#scheduleOptimize();
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
    await this.#writes.run(() =>
      this.#table.delete(
        `chatbot_id = ${sqlString(chatbotId)} AND source_id = ${sqlString(sourceId)}`,
      ),
    );
    this.#vocabularyChanged(chatbotId);
    this.#scheduleOptimize();
  }

  async deleteChatbot(chatbotId: string): Promise<void> {
    await this.#writes.run(() => this.#table.delete(`chatbot_id = ${sqlString(chatbotId)}`));
    this.#vocabularies.delete(chatbotId);
    this.#scheduleOptimize();
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
      .where(`chatbot_id = ${sqlString(chatbotId)} AND source_id = ${sqlString(sourceId)}`)
      .select(COLUMNS)
      .toArray();
    return rows.map(fromLance).sort((a, b) => a.position - b.position);
  }

  /**
   * BM25 full-text search within one chatbot, the query matched as words (a MatchQuery: LanceDB
   * reads a string in double quotes as a phrase query, which fails on our position-less index).
   */
  async searchText(chatbotId: string, query: string, limit: number): Promise<LegHit[]> {
    if (!/[\p{L}\p{N}]/u.test(query)) return [];
    const rows = await this.#table
      .query()
      .fullTextSearch(new lancedb.MatchQuery(query, 'search_text'))
      .where(`chatbot_id = ${sqlString(chatbotId)}`)
      .select(COLUMNS)
      .limit(limit)
      .toArray();
    return rows.map((r) => ({ chunk: fromLance(r), score: Number(r._score ?? 0) }));
  }

  /** Nearest chunks by cosine similarity (score = 1 − cosine distance) within one chatbot. */
  async searchVector(chatbotId: string, vector: Float32Array, limit: number): Promise<LegHit[]> {
    if (!this.vectorsReady) return [];
    const rows = await this.#table
      .vectorSearch(vector)
      .column('vector')
      .distanceType('cosine')
      .where(`chatbot_id = ${sqlString(chatbotId)}`)
      .select(COLUMNS)
      .limit(limit)
      .toArray();
    return rows.map((r) => ({ chunk: fromLance(r), score: 1 - Number(r._distance ?? 1) }));
  }

  /**
   * The words indexed for one chatbot (typo correction of the full-text query), or null while the
   * first one is being built. Built in the background by scanning the chatbot's `search_text`,
   * kept in memory and rebuilt (spaced, see VOCABULARY_REBUILD_SPACING) after writes; searches
   * never wait for it. A failed build is logged; the search runs uncorrected.
   */
  vocabulary(chatbotId: string): Vocabulary | null {
    let entry = this.#vocabularies.get(chatbotId);
    if (entry) {
      // Most recently used last: the first key is the one to drop.
      this.#vocabularies.delete(chatbotId);
    } else {
      entry = { vocab: null, building: null, generation: 0, builtGeneration: -1, nextBuildAt: 0 };
    }
    this.#vocabularies.set(chatbotId, entry);
    for (const old of this.#vocabularies.keys()) {
      if (this.#vocabularies.size <= VOCABULARY_CACHE_CHATBOTS) break;
      this.#vocabularies.delete(old);
    }
    if (entry.builtGeneration !== entry.generation && Date.now() >= entry.nextBuildAt) {
      this.#startVocabularyBuild(chatbotId, entry);
    }
    return entry.vocab;
  }

  #startVocabularyBuild(chatbotId: string, entry: VocabularyEntry): void {
    if (entry.building || this.#closed) return;
    const generation = entry.generation;
    entry.building = this.#vocabularyBuilds
      .run(async () => {
        const started = Date.now();
        const vocab = await this.#buildVocabulary(chatbotId);
        entry.nextBuildAt = Date.now() + VOCABULARY_REBUILD_SPACING * (Date.now() - started);
        return vocab;
      })
      .then(
        (vocab) => {
          entry.vocab = vocab;
          entry.builtGeneration = generation;
          return vocab;
        },
        (err) => {
          this.log.warn({ err }, 'building the chunk vocabulary failed; typo correction is off');
          return null;
        },
      )
      .finally(() => {
        entry.building = null;
      });
  }

  async #buildVocabulary(chatbotId: string): Promise<Vocabulary> {
    const df = new Map<string, number>();
    const rows = this.#table
      .query()
      .where(`chatbot_id = ${sqlString(chatbotId)}`)
      .select(['search_text']);
    for await (const batch of rows) {
      const column = batch.getChild('search_text');
      for (let i = 0; i < batch.numRows; i++) countWords(df, String(column?.get(i) ?? ''));
    }
    return vocabularyOf(df);
  }

  #vocabularyChanged(chatbotId: string): void {
    const entry = this.#vocabularies.get(chatbotId);
    if (entry) entry.generation++;
  }

  /** Embeds a search query with the configured embedder (null when vectors are off). */
  async embedQuery(query: string, signal?: AbortSignal): Promise<Float32Array | null> {
    if (!this.vectorsReady || !this.embedder) return null;
    const [vector] = await this.embedder.embed([query], 'query', signal);
    return vector ?? null;
  }

  #scheduleOptimize(): void {
    this.#dirty = true;
    if (this.#closed) return;
    clearTimeout(this.#optimizeTimer);
    this.#optimizeTimer = setTimeout(() => {
      this.#optimizeTimer = undefined;
      void this.#runOptimize();
    }, this.optimizeDelayMs);
    // A pending optimize must not keep a CLI command alive.
    this.#optimizeTimer.unref?.();
  }

  #runOptimize(): Promise<void> {
    if (this.#optimizing) return this.#optimizing;
    this.#dirty = false;
    this.#optimizing = this.#optimizeNow()
      .catch((e) => {
        // Compaction can lose a race with a concurrent write; the next write schedules it again.
        this.log.warn({ err: e }, 'chunk index optimize failed; will retry after the next write');
        this.#dirty = true;
      })
      .finally(() => {
        this.#optimizing = undefined;
      });
    return this.#optimizing;
  }

  async #optimizeNow(): Promise<void> {
    const started = performance.now();
    const table = this.#table;
    // Index builds and compaction are where the writer's memory peaks (native buffers).
    await withBoundedNativeMemory(async () => {
      if (this.vectorsReady) {
        const indices = await table.listIndices();
        const rows = await table.countRows();
        if (!indices.some((i) => i.columns.includes('vector')) && rows >= this.vectorIndexMinRows) {
          await table.createIndex('vector', { config: vectorIndexFor(rows) });
        }
      }
      // Old versions are kept a few minutes for queries still reading them.
      await table.optimize({ cleanupOlderThan: new Date(Date.now() - 5 * 60_000) });
    });
    this.log.debug({ ms: Math.round(performance.now() - started) }, 'chunk index optimized');
  }

  /** Runs a pending optimize now and waits for it and for vocabulary rebuilds (tests, CLI, shutdown). */
  async settle(): Promise<void> {
    if (this.#optimizeTimer) {
      clearTimeout(this.#optimizeTimer);
      this.#optimizeTimer = undefined;
    }
    await this.#writes.run(async () => undefined);
    if (this.#optimizing) await this.#optimizing;
    if (this.#dirty) await this.#runOptimize();
    // Stale vocabularies are rebuilt now, whatever the spacing.
    for (const [chatbotId, entry] of this.#vocabularies) {
      if (entry.builtGeneration !== entry.generation) this.#startVocabularyBuild(chatbotId, entry);
    }
    await Promise.all([...this.#vocabularies.values()].map((e) => e.building));
  }

  /** Stops scheduling background work (shutdown). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#optimizeTimer);
  }

  /**
   * Rebuilds the index in the configured embedding space: copies every chunk into a new table
   * with fresh vectors (or none), builds its indexes, records it in SQLite and swaps to it; the
   * old table is dropped. Searches keep using the old table (full-text only) meanwhile; writes
   * wait. Returns the number of chunks copied.
   */
  async reembed(onProgress?: (done: number, total: number) => void): Promise<number> {
    return this.#writes
      .run(async () => {
        const old = this.#table;
        const oldName = this.#record.table_name;
        const record: IndexRecord = {
          table_name: nextTableName(oldName),
          provider: this.embedder?.provider ?? 'none',
          model: this.embedder?.model ?? null,
          dimension: this.embedder?.dimension ?? null,
        };
        const names = await this.conn.tableNames();
        if (names.includes(record.table_name)) await this.conn.dropTable(record.table_name);
        const next = await createChunksTable(this.conn, record.table_name, record.dimension);
        const total = await old.countRows();
        let done = 0;
        const columns = [...COLUMNS, 'chatbot_id', 'search_text'];
        const batch: ChunkRow[] = [];
        const flush = async () => {
          if (batch.length === 0) return;
          const vectors =
            record.dimension === null || !this.embedder
              ? undefined
              : await embedAll(this.embedder, batch.map(embedTextOf));
          await next.add(chunkTable(chunkSchema(record.dimension), batch, vectors));
          done += batch.length;
          batch.length = 0;
          onProgress?.(done, total);
        };
        for await (const records of old.query().select(columns)) {
          for (const r of records.toArray()) {
            const c = fromLance(r);
            batch.push({
              ...c,
              chatbotId: String(r.chatbot_id),
              searchText: String(r.search_text ?? ''),
            });
            if (batch.length >= 2048) await flush();
          }
        }
        await flush();
        this.#table = next;
        this.#record = record;
        this.#vocabularies.clear();
        saveRecord(this.db, record);
        await this.conn.dropTable(oldName);
        this.log.info({ chunks: done, space: this.indexedSpace }, 'chunk index re-embedded');
        this.#dirty = true;
        return done;
      })
      .then(async (n) => {
        await this.settle();
        return n;
      });
  }
}

/** A /readyz check: the index answers; says when its vectors are of another embedder. */
export function knowledgeReadiness(store: LanceKnowledgeStore) {
  return async () => {
    let ok = true;
    try {
      await store.countChunks();
    } catch {
      ok = false;
    }
    return {
      name: 'knowledge-index',
      ok,
      detail: store.stale
        ? `the index holds ${store.indexedSpace} but ${store.configuredSpace} is configured: full-text search only until \`answerdesk reembed\` or POST /api/v1/reindex`
        : `embedding space ${store.indexedSpace}${store.vectorsReady ? '' : ' (full-text search only)'}`,
    };
  };
}

function nextTableName(current: string): string {
  const m = /^chunks_(\d+)$/.exec(current);
  return `chunks_${m ? Number(m[1]) + 1 : 2}`;
}

function saveRecord(db: Database, r: IndexRecord): void {
  db.query(
    `INSERT INTO knowledge_index (id, table_name, provider, model, dimension, updated_at)
     VALUES (1, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET table_name = excluded.table_name, provider = excluded.provider,
       model = excluded.model, dimension = excluded.dimension, updated_at = excluded.updated_at`,
  ).run(r.table_name, r.provider, r.model, r.dimension, new Date().toISOString());
}

async function createChunksTable(
  conn: LanceConnection,
  name: string,
  dimension: number | null,
): Promise<lancedb.Table> {
  const table = await conn.createEmptyTable(name, chunkSchema(dimension));
  // The full-text index exists from the start; rows added later are scanned until optimize().
  await table.createIndex('search_text', { config: lancedb.Index.fts(FTS_OPTIONS) });
  await table.createIndex('chatbot_id', { config: lancedb.Index.btree() });
  return table;
}

async function embedAll(embedder: Embedder, texts: string[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += EMBED_BATCH_SIZE) {
    out.push(...(await embedder.embed(texts.slice(i, i + EMBED_BATCH_SIZE), 'passage')));
  }
  return out;
}
