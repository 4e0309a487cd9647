// Bulk loads of text documents (`answerdesk eval`, imports): many new text sources in few index
// writes.
import { getChatbot } from '../chatbots/service.ts';
import { type ChunkSettings, DEFAULT_CHUNK_SETTINGS } from '../knowledge/chunk.ts';
import type { ChunkRow } from '../knowledge/chunk-arrow.ts';
import { chunkRows } from '../knowledge/chunk-rows.ts';
import { contentHash, textDocument } from './indexing.ts';
import type { Source } from './model.ts';
import { createSourceRecord, getSource, recordIndexedAll, setSourceStatus } from './service.ts';
import type { SourcesDeps } from './types.ts';

/** A bulk load's error for the sources it could not index (the cause goes to the caller). */
const BULK_FAILED = 'the bulk load failed before this source was indexed';

/**
 * Adds many new text documents to a chatbot as text sources. Same chunking, rows and status as
 * a text source added through the API; since the sources are new, their chunks are appended in
 * batches of about `batchChunks` instead of replaced one source at a time. Blank documents are
 * skipped.
 */
export async function addTextSources(
  deps: SourcesDeps,
  chatbotId: string,
  docs: { title: string; text: string; externalId?: string | null; url?: string | null }[],
  opts: {
    chunking?: ChunkSettings;
    batchChunks?: number;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<Source[]> {
  getChatbot(deps.db, chatbotId);
  const settings = opts.chunking ?? DEFAULT_CHUNK_SETTINGS;
  const batchChunks = opts.batchChunks ?? 5_000;
  const ids: string[] = [];
  let pending: ChunkRow[] = [];
  let pendingSources: { sourceId: string; chunks: number; contentHash: string }[] = [];
  let done = 0;
  const flush = async () => {
    if (pendingSources.length === 0) return;
    const vectors = await deps.knowledge.embedRows(pending);
    await deps.knowledge.add(pending, vectors);
    recordIndexedAll(deps, pendingSources);
    done += pendingSources.length;
    opts.onProgress?.(done, docs.length);
    pending = [];
    pendingSources = [];
  };
  try {
    for (const d of docs) {
      if (!d.text.trim()) continue;
      const title = d.title.trim() || 'Untitled';
      const url = d.url ?? null;
      const { id } = createSourceRecord(deps, chatbotId, {
        type: 'text',
        title,
        url,
        externalId: d.externalId ?? null,
        status: 'indexing',
        input: { title, text: d.text },
      });
      ids.push(id);
      const doc = textDocument({ title, text: d.text, url }, settings);
      const rows = await chunkRows(chatbotId, id, [doc]);
      for (const row of rows) pending.push(row);
      pendingSources.push({
        sourceId: id,
        chunks: rows.length,
        contentHash: contentHash([doc], settings),
      });
      if (pending.length >= batchChunks) await flush();
    }
    await flush();
  } catch (e) {
    // The sources not recorded yet (the first `done` are, in order) are not left `indexing`.
    deps.db.transaction(() => {
      for (const sourceId of ids.slice(done)) {
        setSourceStatus(deps, sourceId, { status: 'failed', error: BULK_FAILED });
      }
    })();
    throw e;
  }
  return ids.map((id) => getSource(deps.db, chatbotId, id));
}
