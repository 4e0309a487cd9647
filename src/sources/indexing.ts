// Indexing a source: its documents' chunks become index rows that replace the source's chunks in
// one step, and the source records `ready` with its chunk count and content hash.
import { AppError, notFound } from '../errors.ts';
import {
  type ChunkSettings,
  chunkQa,
  chunkText,
  DEFAULT_CHUNK_SETTINGS,
} from '../knowledge/chunk.ts';
import { type ChunkedDocument, chunkRows } from '../knowledge/chunk-rows.ts';
import { storageFailureReason } from '../storage/sqlite/write-health.ts';
import type { Source } from './model.ts';
import {
  deleteSourceRecord,
  getSource,
  indexState,
  recordIndexed,
  setSourceStatus,
} from './service.ts';
import type { SourcesDeps } from './types.ts';

/** A document ready to index: its chunks, and what tells its content from another version's. */
export type IndexDoc = ChunkedDocument & {
  /** `qa` keeps question and answer as one chunk: `title` is the question. */
  kind: 'document' | 'qa';
  /** Characters of text once trimmed (0: nothing to index). */
  chars: number;
  /** sha256 (hex) of the document's text (the answer of a Q&A pair). */
  textSha256: string;
};

const sha256 = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex');

/** A text, chunked here (text sources and bulk loads; fetched documents come chunked). */
export function textDocument(
  doc: { title: string; text: string; url?: string | null },
  settings: ChunkSettings = DEFAULT_CHUNK_SETTINGS,
): IndexDoc {
  return {
    kind: 'document',
    title: doc.title,
    url: doc.url ?? null,
    chars: doc.text.trim().length,
    textSha256: sha256(doc.text),
    chunks: chunkText(doc.text, settings),
  };
}

/** A question and its answer: one chunk whatever its size. */
export function qaDocument(question: string, answer: string): IndexDoc {
  return {
    kind: 'qa',
    title: question,
    url: null,
    chars: answer.trim().length,
    textSha256: sha256(answer),
    chunks: chunkQa(question, answer),
  };
}

/** Hash of what the index holds for a source: its documents plus the chunking that produced them. */
export function contentHash(docs: IndexDoc[], settings: ChunkSettings): string {
  return sha256(
    JSON.stringify([
      settings.chunkSizeTokens,
      settings.chunkOverlapTokens,
      docs.map((d) => [d.kind, d.title, d.textSha256, d.url]),
    ]),
  );
}

function errorMessage(e: unknown): string {
  if (e instanceof AppError) return e.message;
  const storage = storageFailureReason(e);
  if (storage) return storage;
  return e instanceof Error ? e.message.slice(0, 500) : 'indexing failed';
}

/**
 * Indexes documents as the whole content of a source (one for a text, Q&A, URL or file source;
 * one per page for a sitemap): rows → embeddings → one replace of the source's chunks → status
 * `ready`, chunk count and content hash. When the hash is unchanged and the source is ready,
 * nothing is done (unless `force`). On failure the source becomes `failed` with the reason, its
 * previous chunks stay as they were, and the error is rethrown. A single document also sets the
 * source's title (and url if given). `chunking`: the settings the documents were chunked with.
 */
export async function indexDocuments(
  deps: SourcesDeps,
  source: Pick<Source, 'id'>,
  docs: IndexDoc[],
  opts: { force?: boolean; chunking?: ChunkSettings } = {},
): Promise<Source> {
  const state = indexState(deps.db, source.id);
  if (!state) throw notFound('Source');
  const { chatbotId } = state;
  const hash = contentHash(docs, opts.chunking ?? DEFAULT_CHUNK_SETTINGS);
  if (!opts.force && state.source.status === 'ready' && state.contentHash === hash) {
    return state.source;
  }
  if (!docs.some((d) => d.chars > 0)) {
    const error = 'The document has no text to index';
    setSourceStatus(deps, source.id, { status: 'failed', error });
    throw new AppError('VALIDATION_FAILED', error);
  }
  setSourceStatus(deps, source.id, { status: 'indexing', error: null });
  try {
    const rows = await chunkRows(chatbotId, source.id, docs);
    const vectors = await deps.knowledge.embedRows(rows);
    await deps.knowledge.replaceSource(chatbotId, source.id, rows, vectors);
    const single = docs.length === 1 ? docs[0] : undefined;
    const recorded = recordIndexed(deps, source.id, {
      chunks: rows.length,
      contentHash: hash,
      title: single?.title.trim() ? single.title : null,
      url: single?.url ?? null,
    });
    if (!recorded) {
      // The source (or its chatbot) was deleted while this ran: take its chunks out again.
      await deps.knowledge.deleteSource(chatbotId, source.id);
      throw notFound('Source');
    }
  } catch (e) {
    deps.log.warn({ err: e, sourceId: source.id }, 'source indexing failed');
    deps.storage.report(e);
    try {
      setSourceStatus(deps, source.id, { status: 'failed', error: errorMessage(e) });
    } catch (markError) {
      // The disk refused this too: the source stays `indexing` until storage recovers or the
      // next start (inline.ts recovers text and Q&A sources); the caller learns the first cause.
      deps.storage.report(markError);
      deps.log.error({ err: markError, sourceId: source.id }, 'could not mark the source failed');
    }
    throw e;
  }
  return getSource(deps.db, chatbotId, source.id);
}

/** Deletes a source: its chunks leave the index first, then its row. */
export async function deleteSource(
  deps: SourcesDeps,
  chatbotId: string,
  sourceId: string,
): Promise<void> {
  getSource(deps.db, chatbotId, sourceId);
  await deps.knowledge.deleteSource(chatbotId, sourceId);
  deleteSourceRecord(deps.db, sourceId);
}
