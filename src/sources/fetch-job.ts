// The fetch job (`source.ingest`): loads a URL, sitemap or file source (src/ingest: read and
// chunked in an extractor process) and indexes it; retried when the failure may be transient.
import { existsSync } from 'node:fs';
import * as v from 'valibot';
import { AppError } from '../errors.ts';
import { ExtractError, IngestError } from '../ingest/errors.ts';
import { type LoadTarget, loadDocuments } from '../ingest/load.ts';
import { FetchError } from '../ingest/safe-fetch.ts';
import type { JobHandler } from '../jobs/types.ts';
import { capitalise, type FetchJobPayload, uploadPath } from './fetched.ts';
import { indexDocuments } from './indexing.ts';
import { FetchedSourceInput, type Source } from './model.ts';
import {
  getSourceInput,
  indexState,
  recordFetched,
  setSourceStatus,
  sourceExists,
} from './service.ts';
import type { ContentRefreshed, SourcesDeps } from './types.ts';

/** Maps any error to the reason stored on the source and whether a retry may help. */
export function failureReason(e: unknown): { message: string; transient: boolean; known: boolean } {
  if (e instanceof FetchError) return { message: e.message, transient: e.transient, known: true };
  // Indexing's own failures (embedding, index) carry a safe message.
  if (e instanceof AppError) return { message: e.message, transient: e.retryable, known: true };
  if (e instanceof ExtractError || e instanceof IngestError) {
    return { message: e.message, transient: e instanceof IngestError && e.transient, known: true };
  }
  return {
    message: 'internal error while indexing (see the service log)',
    transient: true,
    known: false,
  };
}

/** What the loaders are asked to load for a source's stored input. */
function targetOf(deps: SourcesDeps, sourceId: string, input: FetchedSourceInput): LoadTarget {
  if (input.type !== 'file') return input;
  const path = uploadPath(deps.dataDir, sourceId);
  if (!existsSync(path)) {
    throw new ExtractError('CORRUPT', 'the uploaded file is no longer on disk; upload it again');
  }
  return { type: 'file', path, fileType: input.fileType, name: input.fileName };
}

export type FetchOutcome =
  | {
      outcome: 'indexed' | 'unchanged';
      source: Source;
      chatbotId: string;
      /** The source had been indexed before and its content is now different. */
      contentChanged: boolean;
    }
  | { outcome: 'failed' | 'retry'; error: string }
  | { outcome: 'gone' };

/**
 * Fetches/extracts a URL, sitemap or file source and indexes it (all pages of a sitemap in one
 * atomic replace). Status: `pending`/`failed` → `indexing` → `ready` | `failed` with the reason;
 * a `ready` source being refreshed stays `ready` until its content is known to have changed, so
 * an unchanged refresh is skipped without a flicker. A transient failure (network, 5xx, timeout)
 * asks for a retry unless `finalAttempt`. Nothing partial is ever indexed: extraction finishes
 * before the single replace.
 */
export async function fetchSource(
  deps: SourcesDeps,
  sourceId: string,
  options: {
    signal?: AbortSignal;
    finalAttempt?: boolean;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<FetchOutcome> {
  const { db, log } = deps;
  const state = indexState(db, sourceId);
  if (!state) return { outcome: 'gone' };
  const parsed = v.safeParse(FetchedSourceInput, getSourceInput(db, sourceId));
  if (!parsed.success) {
    const error = 'the source has no fetchable input';
    setSourceStatus(deps, sourceId, { status: 'failed', error });
    recordFetched(deps, sourceId);
    return { outcome: 'failed', error };
  }
  const input = parsed.output;
  if (state.source.status !== 'ready') {
    setSourceStatus(deps, sourceId, { status: 'indexing', error: null });
  }
  try {
    const loaded = await loadDocuments(
      { settings: deps.loading, extractor: deps.extractor, log: log.child({ sourceId }) },
      targetOf(deps, sourceId, input),
      {
        signal: options.signal,
        onProgress: (done, total) => {
          if (sourceExists(db, sourceId)) {
            setSourceStatus(deps, sourceId, { progress: { done, total } });
          }
          options.onProgress?.(done, total);
        },
      },
    );
    if (!sourceExists(db, sourceId)) return { outcome: 'gone' };
    const title = input.type === 'file' ? input.title : undefined;
    const docs = loaded.map((d) => ({
      kind: 'document' as const,
      title: title ?? d.title,
      url: d.url,
      chars: d.chars,
      textSha256: d.textSha256,
      chunks: d.passages,
    }));
    const source = await indexDocuments(deps, { id: sourceId }, docs);
    // The source may have been deleted while its chunks were written: take them out again.
    if (!sourceExists(db, sourceId)) {
      await deps.knowledge.deleteSource(state.chatbotId, sourceId);
      return { outcome: 'gone' };
    }
    recordFetched(deps, sourceId);
    // Told by the content hash, not by times: two writes within one clock tick look alike.
    const after = indexState(db, sourceId)?.contentHash ?? null;
    const unchanged = state.source.status === 'ready' && state.contentHash === after;
    return {
      outcome: unchanged ? 'unchanged' : 'indexed',
      source,
      chatbotId: state.chatbotId,
      contentChanged: state.contentHash !== null && state.contentHash !== after,
    };
  } catch (e) {
    if (!sourceExists(db, sourceId)) {
      await deps.knowledge.deleteSource(state.chatbotId, sourceId).catch(() => {});
      return { outcome: 'gone' };
    }
    // Interrupted (the service is stopping): leave the source as it is and let the job resume.
    if (options.signal?.aborted) {
      if (!options.finalAttempt) return { outcome: 'retry', error: 'interrupted' };
      const error = 'Interrupted while indexing; refresh the source to try again';
      setSourceStatus(deps, sourceId, { status: 'failed', error });
      recordFetched(deps, sourceId);
      return { outcome: 'failed', error };
    }
    const reason = failureReason(e);
    if (!reason.known) log.error({ err: e, sourceId }, 'source ingestion failed unexpectedly');
    if (reason.transient && !options.finalAttempt) {
      log.warn({ sourceId, error: reason.message }, 'source ingestion will be retried');
      return { outcome: 'retry', error: reason.message };
    }
    setSourceStatus(deps, sourceId, { status: 'failed', error: capitalise(reason.message) });
    recordFetched(deps, sourceId);
    return { outcome: 'failed', error: reason.message };
  }
}

/** Tells the hooks a refresh changed a source's content; a failing hook never fails the job. */
function contentRefreshed(deps: SourcesDeps, event: ContentRefreshed): void {
  for (const hook of deps.onContentRefreshed) {
    try {
      hook(event);
    } catch (err) {
      deps.log.error({ err, sourceId: event.sourceId }, 'a content-refreshed hook failed');
    }
  }
}

/**
 * The fetch job kind (`FETCH_JOB` in fetched.ts, registered by `registerJobs` in src/deps.ts). A stop aborts
 * running fetches (a 15-minute crawl must not hold the shutdown); they resume at the next start.
 */
export function fetchJob(deps: SourcesDeps): JobHandler<FetchJobPayload> {
  return {
    // Two at once: a long crawl does not hold up a file upload, and 2 cores stay usable.
    concurrency: 2,
    maxAttempts: 3,
    backoff: { baseMs: 10_000, capMs: 120_000 },
    abortOnStop: true,
    run: async (job) => {
      const result = await fetchSource(deps, job.payload.sourceId, {
        signal: job.signal,
        finalAttempt: job.attempt >= job.maxAttempts,
      });
      if (result.outcome === 'indexed' && result.contentChanged && job.payload.refresh) {
        contentRefreshed(deps, {
          chatbotId: result.chatbotId,
          sourceId: result.source.id,
          trigger: job.payload.refresh,
        });
      }
      switch (result.outcome) {
        case 'indexed':
        case 'unchanged':
          return {
            status: 'done',
            result: { outcome: result.outcome, chunks: result.source.chunkCount },
          };
        case 'retry':
          return { status: 'retry', error: result.error };
        case 'failed':
          return { status: 'failed', error: result.error };
        case 'gone':
          return { status: 'cancelled', reason: 'the source was deleted' };
      }
    },
  };
}
