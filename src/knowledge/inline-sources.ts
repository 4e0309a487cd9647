// Text and Q&A sources: indexed by the request that adds or refreshes them. A source is never
// left `indexing`: an add that fails is rolled back (no row, no chunks, an error answered), and
// a source a crash or a full disk left `indexing` is marked failed at start and when storage
// accepts writes again.
import type { Database } from 'bun:sqlite';
import { AppError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { storageFailureReason } from '../storage/sqlite/write-health.ts';
import type { QaSourceBody, Source, SourceType, TextSourceBody } from './model.ts';
import {
  createSourceRecord,
  getSource,
  getSourceInput,
  type IngestDoc,
  ingestDocument,
  type KnowledgeCtx,
} from './service.ts';

/** The error a source left `indexing` by an interruption gets. */
export const INTERRUPTED_ERROR =
  'indexing was interrupted (a restart or a full disk); refresh the source to index it again';

/** The document a text or Q&A source indexes, from its stored input. */
function documentOf(type: SourceType, input: Record<string, unknown>): IngestDoc | null {
  if (type === 'text') return { title: String(input.title), text: String(input.text) };
  if (type === 'qa')
    return { title: String(input.question), text: String(input.answer), kind: 'qa' };
  return null;
}

/** A write the disk refused becomes a 503 with a plain reason; other errors pass unchanged. */
function storageError(e: unknown, consequence: string): unknown {
  const reason = storageFailureReason(e);
  return reason
    ? new AppError('SERVICE_UNAVAILABLE', `${reason}; ${consequence}`, {
        retryable: true,
        cause: e,
      })
    : e;
}

/**
 * Adds a text or Q&A source; it is searchable when this returns. When indexing fails, the source
 * is taken out again (its chunks, then its row) and the error is thrown: a 503 when the disk is
 * full.
 */
export async function createInlineSource(
  ctx: KnowledgeCtx,
  chatbotId: string,
  body: TextSourceBody | QaSourceBody,
): Promise<Source> {
  const input =
    body.type === 'text'
      ? { title: body.title.trim(), text: body.text }
      : { question: body.question.trim(), answer: body.answer };
  let source: Source;
  try {
    source = createSourceRecord(ctx.db, chatbotId, {
      type: body.type,
      title: body.type === 'text' ? (input.title as string) : (input.question as string),
      externalId: body.externalId ?? null,
      status: 'indexing',
      input,
    });
  } catch (e) {
    ctx.storage?.report(e);
    throw storageError(e, 'the source was not added');
  }
  try {
    return await ingestDocument(ctx, source, documentOf(body.type, input) as IngestDoc, {
      force: true,
    });
  } catch (e) {
    try {
      await ctx.store.deleteSource(chatbotId, source.id);
      ctx.db.query('DELETE FROM sources WHERE id = ?').run(source.id);
    } catch (rollbackError) {
      // Left `failed` (or `indexing`, which recoverInterruptedSources marks failed later).
      ctx.storage?.report(rollbackError);
      ctx.log.error(
        { err: rollbackError, sourceId: source.id },
        'could not take out a source whose indexing failed',
      );
    }
    throw storageError(e, 'the source was not added');
  }
}

/** Re-indexes a text or Q&A source from its stored input; unchanged content is skipped. */
export async function refreshSource(
  ctx: KnowledgeCtx,
  chatbotId: string,
  sourceId: string,
): Promise<Source> {
  const source = getSource(ctx.db, chatbotId, sourceId);
  const doc = documentOf(source.type, getSourceInput(ctx.db, sourceId));
  if (!doc) {
    // URL, sitemap and file sources are re-fetched by their background job (ingestion feature).
    throw new AppError('BAD_REQUEST', `Refreshing a ${source.type} source is not supported`);
  }
  try {
    return await ingestDocument(ctx, source, doc);
  } catch (e) {
    throw storageError(e, 'the source keeps its previous chunks');
  }
}

/**
 * Marks failed the text and Q&A sources left `indexing` (their request died with the process, or
 * the disk refused even the rollback). Run at start and when storage accepts writes again; a
 * request still indexing one meanwhile sets it `ready` when it ends. URL, sitemap and file
 * sources belong to their background jobs, which resume on their own.
 */
export function recoverInterruptedSources(db: Database, log: Logger): number {
  const changed = db
    .query(
      `UPDATE sources SET status = 'failed', error = ?, updated_at = ?
       WHERE type IN ('text', 'qa') AND status IN ('pending', 'indexing')`,
    )
    .run(INTERRUPTED_ERROR, new Date().toISOString()).changes;
  if (changed > 0) log.warn({ sources: changed }, 'marked interrupted text and Q&A sources failed');
  return changed;
}
