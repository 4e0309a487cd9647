// Per-chatbot full-text analysis in the one chunks table (docs/notes/knowledge.md, "Knowledge
// languages"): a nullable column per analyzer in use, each with its own FTS index, added the first
// time a chatbot with that analyzer gets chunks; a chatbot's rows fill the column of its analyzer,
// recorded in SQLite (`knowledge_analysis`), which searches read.
import type { Database } from 'bun:sqlite';
import * as lancedb from '@lancedb/lancedb';
import * as arrow from 'apache-arrow';
import { findChatbot } from '../chatbots/service.ts';
import {
  ANALYSES,
  type Analysis,
  type AnalyzerKey,
  analysisByKey,
  analysisFor,
  prepare,
  rawTextColumn,
} from './analysis.ts';
import { type ChunkRow, chunkSchema } from './chunk-arrow.ts';
import { sqlString } from './replace.ts';

/** The analysis recorded for a chatbot's chunks; null when it has never had any. */
export function recordedAnalysis(db: Database, chatbotId: string): Analysis | null {
  const row = db
    .query<{ analyzer: string }, [string]>(
      'SELECT analyzer FROM knowledge_analysis WHERE chatbot_id = ?',
    )
    .get(chatbotId);
  return row ? analysisByKey(row.analyzer) : null;
}

export function recordAnalysis(db: Database, chatbotId: string, key: AnalyzerKey, now: Date) {
  db.query(
    `INSERT INTO knowledge_analysis (chatbot_id, analyzer, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (chatbot_id) DO UPDATE SET analyzer = excluded.analyzer, updated_at = excluded.updated_at`,
  ).run(chatbotId, key, now.toISOString());
}

export function forgetAnalysis(db: Database, chatbotId: string): void {
  db.query('DELETE FROM knowledge_analysis WHERE chatbot_id = ?').run(chatbotId);
}

/** Every chatbot with a recorded analysis, with its analyzer key. */
export function recordedAnalyses(db: Database): { chatbotId: string; analyzer: string }[] {
  return db
    .query<{ chatbotId: string; analyzer: string }, []>(
      'SELECT chatbot_id AS chatbotId, analyzer FROM knowledge_analysis',
    )
    .all();
}

/** The analyses whose column has its full-text index in `table`. */
export async function indexedAnalyses(table: lancedb.Table): Promise<Analysis[]> {
  const columns = new Set((await table.listIndices()).flatMap((i) => i.columns));
  return Object.values(ANALYSES).filter((a) => columns.has(a.column));
}

/**
 * Adds the column of `analysis` (unless a crash left it without its index) and its full-text
 * index. Rows added before the next optimize() are scanned, so the column is searchable at once.
 */
export async function addAnalyzerColumn(table: lancedb.Table, analysis: Analysis): Promise<void> {
  const schema = await table.schema();
  if (!schema.fields.some((f) => f.name === analysis.column)) {
    await table.addColumns([{ name: analysis.column, valueSql: 'CAST(NULL AS STRING)' }]);
  }
  await table.createIndex(analysis.column, { config: lancedb.Index.fts(analysis.fts) });
}

/**
 * The schema of a chunks table in its column order (analyzer columns are appended). LanceDB returns
 * its own Arrow module's schema, which ours cannot build on: the names are read, the types are ours.
 */
export async function schemaOf(table: lancedb.Table, dimension: number | null) {
  const base = chunkSchema(dimension).fields;
  const fields = (await table.schema()).fields.map(
    (f) => base.find((b) => b.name === f.name) ?? new arrow.Field(f.name, new arrow.Utf8(), true),
  );
  return new arrow.Schema(fields);
}

/** The analyzer columns of one chunks table, and the analysis of each chatbot's rows in it. */
export class AnalyzerColumns {
  /** Columns whose full-text index exists. */
  #indexed: Set<string>;

  /** The table's schema, in its column order, built with our Arrow module (chunk-arrow.ts). */
  schema = new arrow.Schema([]);

  private constructor(
    private readonly table: lancedb.Table,
    private readonly db: Database,
    private readonly now: () => Date,
    private readonly dimension: number | null,
    indexed: Analysis[],
  ) {
    this.#indexed = new Set(indexed.map((a) => a.column));
  }

  static async of(
    table: lancedb.Table,
    opts: { db: Database; now: () => Date; dimension: number | null },
  ): Promise<AnalyzerColumns> {
    const { db, now, dimension } = opts;
    const columns = new AnalyzerColumns(table, db, now, dimension, await indexedAnalyses(table));
    await columns.#readSchema();
    return columns;
  }

  async #readSchema(): Promise<void> {
    this.schema = await schemaOf(this.table, this.dimension);
  }

  /**
   * Call under the write lock: the analysis of each row's chatbot, recorded on a chatbot's first
   * chunks from its knowledge language (`en` for an id without a chatbot: tools and benches), its
   * column added when it is the first chatbot with that analyzer.
   */
  async forRows(rows: ChunkRow[]): Promise<(row: ChunkRow) => Analysis | null> {
    const out = new Map<string, Analysis>();
    for (const id of new Set(rows.map((r) => r.chatbotId))) {
      let a = recordedAnalysis(this.db, id);
      if (!a) {
        const chatbot = findChatbot(this.db, id);
        a = analysisFor(chatbot ? chatbot.language.knowledge : 'en');
        recordAnalysis(this.db, id, a.key, this.now());
      }
      await this.ensure(a);
      out.set(id, a);
    }
    return (row) => out.get(row.chatbotId) ?? null;
  }

  /** Adds the column of `a` and its index unless the table has them (under the write lock). */
  async ensure(a: Analysis): Promise<void> {
    if (this.#indexed.has(a.column)) return;
    await addAnalyzerColumn(this.table, a);
    await this.#readSchema();
    this.#indexed.add(a.column);
  }
}

/** Rows re-analysed per commit. */
const FILL_BATCH_ROWS = 2048;

/**
 * Writes every chunk of one chatbot, analysed with `from`, into the column of `analysis` and its
 * raw text into `search_text` (one merge-insert of id and those columns per batch); the column of
 * `from` is left as it is, so searches that still use it keep answering. Returns the chunks written.
 */
export async function fillAnalyzerColumn(
  table: lancedb.Table,
  chatbotId: string,
  from: Analysis,
  analysis: Analysis,
): Promise<number> {
  let filled = 0;
  let ids: string[] = [];
  let raws: string[] = [];
  const utf8 = (values: string[]) => arrow.vectorFromArray(values, new arrow.Utf8());
  const flush = async () => {
    if (ids.length === 0) return;
    const update = new arrow.Table({
      id: utf8(ids),
      search_text: utf8(raws),
      [analysis.column]: utf8(raws.map((t) => prepare(t, analysis))),
    });
    await table.mergeInsert('id').whenMatchedUpdateAll().execute(update);
    filled += ids.length;
    ids = [];
    raws = [];
  };
  const source = rawTextColumn(from);
  const rows = table
    .query()
    .where(`chatbot_id = ${sqlString(chatbotId)}`)
    .select(['id', source]);
  for await (const batch of rows) {
    const id = batch.getChild('id');
    const text = batch.getChild(source);
    for (let i = 0; i < batch.numRows; i++) {
      ids.push(String(id?.get(i)));
      raws.push(String(text?.get(i) ?? ''));
      if (ids.length >= FILL_BATCH_ROWS) await flush();
    }
  }
  await flush();
  return filled;
}

/**
 * After a switch from `old` to `current`: empties one chatbot's cells of the analyzer column it
 * no longer uses, and its `search_text` cells when `current` keeps the raw text in its own column.
 */
export async function clearAnalyzerColumn(
  table: lancedb.Table,
  chatbotId: string,
  old: Analysis,
  current: Analysis,
): Promise<void> {
  const values: Record<string, string> = {};
  if (old.column !== 'search_text') values[old.column] = 'CAST(NULL AS STRING)';
  if (rawTextColumn(current) !== 'search_text') values.search_text = "''";
  await table.update({ where: `chatbot_id = ${sqlString(chatbotId)}`, valuesSql: values });
}
