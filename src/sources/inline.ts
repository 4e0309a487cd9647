// Text and Q&A sources: indexed by the request that adds or refreshes them. A source is never
// left `indexing`: an add that fails is rolled back (no row, no chunks, an error answered), and
// a source a crash or a full disk left `indexing` is marked failed at start and when storage
// accepts writes again.
import { AppError } from '../errors.ts';
import { storageFailureReason } from '../storage/sqlite/write-health.ts';
import { type IndexDoc, indexDocuments, qaDocument, textDocument } from './indexing.ts';
import type { QaSourceBody, Source, SourceType, TextSourceBody } from './model.ts';
import {
  createSourceRecord,
  deleteSourceRecord,
  failUnfinishedInlineSources,
  getSource,
  getSourceInput,
} from './service.ts';
import type { SourcesDeps } from './types.ts';

/** The error a source left `indexing` by an interruption gets. */
export const INTERRUPTED_ERROR =
  'indexing was interrupted (a restart or a full disk); refresh the source to index it again';

/** The document a text or Q&A source indexes, from its stored input. */
function documentOf(type: SourceType, input: Record<string, unknown>): IndexDoc | null {
  if (type === 'text')
    return textDocument({ title: String(input.title), text: String(input.text) });
  if (type === 'qa') return qaDocument(String(input.question), String(input.answer));
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
  deps: SourcesDeps,
  chatbotId: string,
  body: TextSourceBody | QaSourceBody,
): Promise<Source> {
  const title = body.type === 'text' ? body.title.trim() : body.question.trim();
  const input =
    body.type === 'text' ? { title, text: body.text } : { question: title, answer: body.answer };
  let source: Source;
  try {
    source = createSourceRecord(deps, chatbotId, {
      type: body.type,
      title,
      externalId: body.externalId ?? null,
      status: 'indexing',
      input,
    });
  } catch (e) {
    deps.storage.report(e);
    throw storageError(e, 'the source was not added');
  }
  try {
    return await indexDocuments(deps, source, [documentOf(body.type, input) as IndexDoc], {
      force: true,
    });
  } catch (e) {
    try {
      await deps.knowledge.deleteSource(chatbotId, source.id);
      deleteSourceRecord(deps.db, source.id);
    } catch (rollbackError) {
      // Left `failed` (or `indexing`, which recoverInterruptedSources marks failed later).
      deps.storage.report(rollbackError);
      deps.log.error(
        { err: rollbackError, sourceId: source.id },
        'could not take out a source whose indexing failed',
      );
    }
    throw storageError(e, 'the source was not added');
  }
}

/** Re-indexes a text or Q&A source from its stored input; unchanged content is skipped. */
export async function refreshInlineSource(
  deps: SourcesDeps,
  chatbotId: string,
  sourceId: string,
): Promise<Source> {
  const source = getSource(deps.db, chatbotId, sourceId);
  const doc = documentOf(source.type, getSourceInput(deps.db, sourceId));
  if (!doc) {
    throw new AppError('BAD_REQUEST', `Refreshing a ${source.type} source is not supported`);
  }
  try {
    return await indexDocuments(deps, source, [doc]);
  } catch (e) {
    throw storageError(e, 'the source keeps its previous chunks');
  }
}

/**
 * Marks failed the text and Q&A sources left `indexing` (their request died with the process, or
 * the disk refused even the rollback). A request still indexing one meanwhile sets it `ready`
 * when it ends. URL, sitemap and file sources belong to their background jobs, which resume on
 * their own.
 */
export function recoverInterruptedSources(deps: SourcesDeps): number {
  const changed = failUnfinishedInlineSources(deps, INTERRUPTED_ERROR);
  if (changed > 0) {
    deps.log.warn({ sources: changed }, 'marked interrupted text and Q&A sources failed');
  }
  return changed;
}

/**
 * Runs `recoverInterruptedSources` now (at start; a disk already full is reported, not thrown)
 * and again whenever writes pass after a failure. Called once per process by `buildDeps`.
 */
export function recoverSourcesOnStart(deps: SourcesDeps): void {
  const recover = () => recoverInterruptedSources(deps);
  try {
    recover();
  } catch (err) {
    if (!deps.storage.report(err)) throw err;
  }
  deps.storage.onRecovered(recover);
}
