// The `sources` table: the only module with SQL on it. Plain functions; the times they store
// come from the app clock.
import type { Database } from 'bun:sqlite';
import { getChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import { AppError, notFound } from '../errors.ts';
import type { LastTestRun, Source, SourceStatus, SourceType } from './model.ts';

/** What writing a source needs: the database and the clock that stamps it. */
export type SourcesDb = { db: Database; clock: Clock };

/** Fields of a new source row; `input` is the raw input a refresh needs (url, maxPages, text…). */
export type NewSourceRecord = {
  type: SourceType;
  title: string;
  url?: string | null;
  externalId?: string | null;
  status?: SourceStatus;
  input?: Record<string, unknown>;
  /** Url and sitemap sources: hours between scheduled refreshes (null: never). */
  refreshIntervalHours?: number | null;
};

type Row = {
  id: string;
  chatbot_id: string;
  type: SourceType;
  title: string;
  url: string | null;
  external_id: string | null;
  status: SourceStatus;
  error: string | null;
  chunk_count: number;
  content_hash: string | null;
  input: string;
  progress_done: number | null;
  progress_total: number | null;
  refresh_interval_hours: number | null;
  fetched_at: string | null;
  refresh_queued_at: string | null;
  last_test_run: string | null;
  created_at: string;
  updated_at: string;
};

/** Types a schedule applies to (their content lives elsewhere and can change). */
const SCHEDULED_TYPES: readonly SourceType[] = ['url', 'sitemap'];

const newSourceId = () => `src_${crypto.randomUUID().replaceAll('-', '')}`;
const stamp = (clock: Clock) => new Date(clock.now()).toISOString();

function toSource(row: Row): Source {
  const progress =
    row.progress_total === null
      ? {}
      : { progress: { done: row.progress_done ?? 0, total: row.progress_total } };
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    url: row.url,
    externalId: row.external_id,
    status: row.status,
    error: row.error,
    chunkCount: row.chunk_count,
    ...progress,
    // Each extra key only where it means something: text and Q&A sources keep the contract's
    // fields exactly (docs/notes/contract.md).
    ...(SCHEDULED_TYPES.includes(row.type)
      ? { refreshIntervalHours: row.refresh_interval_hours }
      : {}),
    ...(row.type === 'text' || row.type === 'qa'
      ? {}
      : {
          lastTestRun: row.last_test_run ? (JSON.parse(row.last_test_run) as LastTestRun) : null,
        }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Creates the row of a source (status `pending` unless given). The chatbot must exist (404). */
export function createSourceRecord(
  s: SourcesDb,
  chatbotId: string,
  input: NewSourceRecord,
): Source {
  getChatbot(s.db, chatbotId);
  const id = newSourceId();
  const at = stamp(s.clock);
  s.db
    .query(
      `INSERT INTO sources (id, chatbot_id, type, title, url, external_id, status, input,
         refresh_interval_hours, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      id,
      chatbotId,
      input.type,
      input.title,
      input.url ?? null,
      input.externalId ?? null,
      input.status ?? 'pending',
      JSON.stringify(input.input ?? {}),
      input.refreshIntervalHours ?? null,
      at,
      at,
    );
  return getSource(s.db, chatbotId, id);
}

export function getSource(db: Database, chatbotId: string, sourceId: string): Source {
  const row = db
    .query<Row, [string, string]>('SELECT * FROM sources WHERE id = ? AND chatbot_id = ?')
    .get(sourceId, chatbotId);
  if (!row) throw notFound('Source');
  return toSource(row);
}

export function listSources(db: Database, chatbotId: string): Source[] {
  getChatbot(db, chatbotId);
  return db
    .query<Row, [string]>('SELECT * FROM sources WHERE chatbot_id = ? ORDER BY created_at, id')
    .all(chatbotId)
    .map(toSource);
}

/** The raw input stored with a source (what a refresh re-reads). */
export function getSourceInput(db: Database, sourceId: string): Record<string, unknown> {
  const row = db
    .query<{ input: string }, [string]>('SELECT input FROM sources WHERE id = ?')
    .get(sourceId);
  return row ? (JSON.parse(row.input) as Record<string, unknown>) : {};
}

/** What indexing a source needs to know of it, or null when it is gone. */
export type IndexState = {
  source: Source;
  chatbotId: string;
  contentHash: string | null;
};

export function indexState(db: Database, sourceId: string): IndexState | null {
  const row = db.query<Row, [string]>('SELECT * FROM sources WHERE id = ?').get(sourceId);
  return row && { source: toSource(row), chatbotId: row.chatbot_id, contentHash: row.content_hash };
}

export const sourceExists = (db: Database, sourceId: string) =>
  db.query('SELECT 1 FROM sources WHERE id = ?').get(sourceId) !== null;

/** Updates status, error, progress, title or url of a source (background jobs report here). */
export function setSourceStatus(
  s: SourcesDb,
  sourceId: string,
  patch: {
    status?: SourceStatus;
    error?: string | null;
    progress?: { done: number; total: number } | null;
    title?: string;
    url?: string | null;
  },
): void {
  const sets: string[] = [];
  const values: (string | number | null)[] = [];
  const set = (column: string, value: string | number | null) => {
    sets.push(`${column} = ?`);
    values.push(value);
  };
  if (patch.status !== undefined) set('status', patch.status);
  if (patch.error !== undefined) set('error', patch.error);
  if (patch.progress !== undefined) {
    set('progress_done', patch.progress?.done ?? null);
    set('progress_total', patch.progress?.total ?? null);
  }
  if (patch.title !== undefined) set('title', patch.title);
  if (patch.url !== undefined) set('url', patch.url);
  set('updated_at', stamp(s.clock));
  s.db.query(`UPDATE sources SET ${sets.join(', ')} WHERE id = ?`).run(...values, sourceId);
}

/**
 * Records a source `ready` with its chunk count and content hash (and title and url, when given);
 * false when the source is gone.
 */
export function recordIndexed(
  s: SourcesDb,
  sourceId: string,
  done: { chunks: number; contentHash: string; title?: string | null; url?: string | null },
): boolean {
  const { changes } = s.db
    .query(
      `UPDATE sources SET status = 'ready', error = NULL, chunk_count = ?, content_hash = ?,
         title = COALESCE(?, title), url = COALESCE(?, url), updated_at = ? WHERE id = ?`,
    )
    .run(
      done.chunks,
      done.contentHash,
      done.title ?? null,
      done.url ?? null,
      stamp(s.clock),
      sourceId,
    );
  return changes > 0;
}

/** `recordIndexed` for many sources in one transaction (bulk loads). */
export function recordIndexedAll(
  s: SourcesDb,
  done: { sourceId: string; chunks: number; contentHash: string }[],
): void {
  s.db.transaction(() => {
    for (const d of done) recordIndexed(s, d.sourceId, d);
  })();
}

export function deleteSourceRecord(db: Database, sourceId: string): void {
  db.query('DELETE FROM sources WHERE id = ?').run(sourceId);
}

/** Ids of a chatbot's URL, sitemap and file sources. */
export function fetchedSourceIds(db: Database, chatbotId: string): string[] {
  return db
    .query<{ id: string }, [string]>(
      "SELECT id FROM sources WHERE chatbot_id = ? AND type IN ('url', 'sitemap', 'file')",
    )
    .all(chatbotId)
    .map((r) => r.id);
}

/** Marks failed, with `error`, the text and Q&A sources left `pending` or `indexing`; how many. */
export function failUnfinishedInlineSources(s: SourcesDb, error: string): number {
  return s.db
    .query(
      `UPDATE sources SET status = 'failed', error = ?, updated_at = ?
       WHERE type IN ('text', 'qa') AND status IN ('pending', 'indexing')`,
    )
    .run(error, stamp(s.clock)).changes;
}

// ---------------------------------------------------------------------------------------------
// The refresh schedule (schedule.ts) and the answer-test run a refresh started (src/answer-tests).
// None of these touch `updated_at`: they are bookkeeping, not the source's content.

/** Sets the hours between scheduled refreshes of a url or sitemap source (422 for other types). */
export function setRefreshInterval(
  db: Database,
  chatbotId: string,
  sourceId: string,
  hours: number | null,
): Source {
  const source = getSource(db, chatbotId, sourceId);
  if (!SCHEDULED_TYPES.includes(source.type)) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Invalid body: refreshIntervalHours: only url and sitemap sources are refreshed on a schedule, this one is ${source.type}`,
    );
  }
  db.query('UPDATE sources SET refresh_interval_hours = ? WHERE id = ?').run(hours, sourceId);
  return getSource(db, chatbotId, sourceId);
}

/** A fetch of the source ended (indexed, unchanged or failed): the schedule counts from now. */
export function recordFetched(s: SourcesDb, sourceId: string): void {
  s.db
    .query('UPDATE sources SET fetched_at = ?, refresh_queued_at = NULL WHERE id = ?')
    .run(stamp(s.clock), sourceId);
}

/** A scheduled refresh was queued; it is outstanding until a fetch of the source ends. */
export function recordRefreshQueued(s: SourcesDb, sourceId: string): void {
  s.db.query('UPDATE sources SET refresh_queued_at = ? WHERE id = ?').run(stamp(s.clock), sourceId);
}

/** A source on a schedule, as the scheduler reads it. */
export type ScheduledSource = {
  id: string;
  chatbotId: string;
  intervalHours: number;
  /** When the last fetch ended, or when the source was created if it never did. */
  since: string;
  /** When a scheduled refresh not ended yet was queued (null: none). */
  queuedAt: string | null;
};

export function scheduledSources(db: Database): ScheduledSource[] {
  return db
    .query<ScheduledSource, [string]>(
      `SELECT id, chatbot_id AS chatbotId, refresh_interval_hours AS intervalHours,
         COALESCE(fetched_at, created_at) AS since, refresh_queued_at AS queuedAt
       FROM sources WHERE refresh_interval_hours IS NOT NULL
         AND type IN (SELECT value FROM json_each(?))`,
    )
    .all(JSON.stringify(SCHEDULED_TYPES));
}

/** Records the answer-test run a refresh of these sources started (or the same run, updated). */
export function setLastTestRun(db: Database, sourceIds: readonly string[], run: LastTestRun) {
  const json = JSON.stringify(run);
  const update = db.query('UPDATE sources SET last_test_run = ? WHERE id = ?');
  db.transaction(() => {
    for (const id of sourceIds) update.run(json, id);
  })();
}

/** Updates what the sources that show this run say of it (sources a newer run replaced keep theirs). */
export function updateLastTestRun(db: Database, chatbotId: string, run: LastTestRun): void {
  db.query(
    `UPDATE sources SET last_test_run = ?
     WHERE chatbot_id = ? AND json_extract(last_test_run, '$.runId') = ?`,
  ).run(JSON.stringify(run), chatbotId, run.runId);
}
