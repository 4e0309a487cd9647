// URL, sitemap and file sources: create (202 + background job), fetch/extract, index through the
// knowledge service, refresh, and clean up on delete.

import { existsSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { JobHandler, Worker } from '../jobs/worker.ts';
import type { Source } from '../knowledge/model.ts';
import {
  createSourceRecord,
  getSourceInput,
  type IngestDoc,
  ingestDocuments,
  type KnowledgeCtx,
  setSourceStatus,
} from '../knowledge/service.ts';
import { redactUrl } from '../logging.ts';
import { crawlSitemap, DEFAULT_MAX_PAGES, fetchPage } from './crawl.ts';
import { ExtractError, failureReason } from './errors.ts';
import type { Extractor } from './extractor.ts';
import { detectFileType } from './file-type.ts';
import {
  FetchedSourceInput,
  type FileSourceBody,
  type SitemapSourceBody,
  type UrlSourceBody,
} from './model.ts';
import type { Resolver } from './safe-fetch.ts';

export const INGEST_JOB = 'source.ingest';
export type IngestJobPayload = { sourceId: string };

/** Fetch and crawl settings, from the configuration (tests may add a resolver). */
export type IngestSettings = {
  allowPrivate: boolean;
  fetchTimeoutMs: number;
  pageMaxBytes: number;
  crawlDelayMs: number;
  crawlConcurrency: number;
  uploadLimitBytes: number;
  resolve?: Resolver;
};

export type IngestDeps = {
  ctx: KnowledgeCtx;
  dataDir: string;
  settings: IngestSettings;
  /** Reads documents and pages in another process, bounded (extractor.ts). */
  extractor: Extractor;
};

export function ingestSettings(config: Config): IngestSettings {
  return {
    allowPrivate: config.ALLOW_PRIVATE_URLS,
    fetchTimeoutMs: config.FETCH_TIMEOUT_MS,
    pageMaxBytes: config.FETCH_MAX_BYTES,
    crawlDelayMs: config.CRAWL_DELAY_MS,
    crawlConcurrency: config.CRAWL_CONCURRENCY,
    uploadLimitBytes: config.UPLOAD_LIMIT_BYTES,
  };
}

/** Where an uploaded file is kept (so a refresh can read it again); removed with its source. */
export const uploadPath = (dataDir: string, sourceId: string) =>
  join(dataDir, 'uploads', sourceId.replace(/[^\w-]/g, '_'));

/** Jobs of one source run one at a time (an ingest and a refresh never overlap). */
export const serialKeyOf = (sourceId: string) => `source:${sourceId}`;

/** Creates a URL or sitemap source (status `pending`); the caller enqueues its job. */
export function createRemoteSource(
  deps: IngestDeps,
  chatbotId: string,
  body: UrlSourceBody | SitemapSourceBody,
): Source {
  const url = new URL(body.url).href;
  const input: FetchedSourceInput =
    body.type === 'url'
      ? { type: 'url', url }
      : { type: 'sitemap', url, maxPages: body.maxPages ?? DEFAULT_MAX_PAGES };
  return createSourceRecord(deps.ctx.db, chatbotId, {
    type: body.type,
    title: url,
    url,
    externalId: body.externalId ?? null,
    input,
  });
}

/**
 * Checks an upload (413 over the limit, 415 for an unsupported type), keeps the file in
 * DATA_DIR/uploads and creates its source (status `pending`); the caller enqueues its job.
 */
export async function createFileSource(
  deps: IngestDeps,
  chatbotId: string,
  body: Pick<FileSourceBody, 'file' | 'title' | 'externalId'>,
): Promise<Source> {
  const { file } = body;
  if (file.size > deps.settings.uploadLimitBytes) {
    throw new AppError(
      'PAYLOAD_TOO_LARGE',
      `The file is larger than the upload limit of ${deps.settings.uploadLimitBytes} bytes (UPLOAD_LIMIT_BYTES)`,
    );
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const fileName = (file.name || 'upload').replace(/^.*[\\/]/, '').slice(0, 255);
  let fileType: ReturnType<typeof detectFileType>;
  try {
    fileType = detectFileType(fileName, bytes);
  } catch (e) {
    if (e instanceof ExtractError)
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', capitalise(e.message));
    throw e;
  }
  const input: FetchedSourceInput = {
    type: 'file',
    fileName,
    fileType,
    sizeBytes: bytes.byteLength,
    sha256: new Bun.CryptoHasher('sha256').update(bytes).digest('hex'),
    ...(body.title ? { title: body.title } : {}),
  };
  const source = createSourceRecord(deps.ctx.db, chatbotId, {
    type: 'file',
    title: body.title ?? fileName,
    url: null,
    externalId: body.externalId ?? null,
    input,
  });
  try {
    // Off the event loop: a 25 MiB write would hold request handling for tens of ms.
    await mkdir(join(deps.dataDir, 'uploads'), { recursive: true });
    await writeFile(uploadPath(deps.dataDir, source.id), bytes, { mode: 0o600 });
  } catch (e) {
    deps.ctx.db.query('DELETE FROM sources WHERE id = ?').run(source.id);
    throw e;
  }
  return source;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Commits the background job of a source; a newer request replaces one still waiting. */
export function enqueueIngest(worker: Worker, source: Pick<Source, 'id'>, chatbotId: string) {
  worker.cancelPending(serialKeyOf(source.id), 'superseded by a newer request');
  return worker.enqueue<IngestJobPayload>(
    INGEST_JOB,
    { sourceId: source.id },
    { chatbotId, serialKey: serialKeyOf(source.id) },
  );
}

/** Stops a source's waiting and running jobs and removes its kept upload (before/at delete). */
export function forgetSource(worker: Worker, dataDir: string, sourceId: string): void {
  worker.cancelPending(serialKeyOf(sourceId), 'the source was deleted');
  worker.abortRunning(serialKeyOf(sourceId), 'the source was deleted');
  rmSync(uploadPath(dataDir, sourceId), { force: true });
}

export const isFetchedType = (type: string): type is 'url' | 'sitemap' | 'file' =>
  type === 'url' || type === 'sitemap' || type === 'file';

/** Fetches or reads a source and turns it into documents (one per page for a sitemap). */
export async function loadDocuments(
  deps: IngestDeps,
  sourceId: string,
  input: FetchedSourceInput,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<IngestDoc[]> {
  const { settings } = deps;
  const policy = {
    allowPrivate: settings.allowPrivate,
    timeoutMs: settings.fetchTimeoutMs,
    pageMaxBytes: settings.pageMaxBytes,
    signal: options.signal,
    resolve: settings.resolve,
  };
  switch (input.type) {
    case 'url': {
      const page = await fetchPage(input.url, policy, deps.extractor);
      return [{ title: page.title, text: page.text, url: page.url }];
    }
    case 'sitemap': {
      const result = await crawlSitemap(
        input.url,
        {
          maxPages: input.maxPages,
          concurrency: settings.crawlConcurrency,
          delayMs: settings.crawlDelayMs,
        },
        policy,
        deps.extractor,
        (p) => options.onProgress?.(p.done, p.total),
      );
      if (result.failures.length > 0 || result.skippedByBudget > 0) {
        deps.ctx.log.warn(
          {
            sourceId,
            failed: result.failures.length,
            skippedByBudget: result.skippedByBudget,
            firstFailure: result.failures[0] && {
              url: redactUrl(result.failures[0].url),
              reason: result.failures[0].reason,
            },
          },
          'some sitemap pages were not indexed',
        );
      }
      return result.pages.map((p) => ({ title: p.title, text: p.text, url: p.url }));
    }
    case 'file': {
      const path = uploadPath(deps.dataDir, sourceId);
      if (!existsSync(path)) {
        throw new ExtractError(
          'CORRUPT',
          'the uploaded file is no longer on disk; upload it again',
        );
      }
      const out = await deps.extractor.file(
        { path, fileType: input.fileType, name: input.fileName },
        options.signal,
      );
      return [{ title: input.title ?? out.title, text: out.text, url: null }];
    }
  }
}

export type IngestOutcome =
  | { outcome: 'indexed' | 'unchanged'; source: Source }
  | { outcome: 'failed' | 'retry'; error: string }
  | { outcome: 'gone' };

const exists = (deps: IngestDeps, sourceId: string) =>
  deps.ctx.db.query('SELECT 1 FROM sources WHERE id = ?').get(sourceId) !== null;

/**
 * Fetches/extracts a URL, sitemap or file source and indexes it (all pages of a sitemap in one
 * atomic replace). Status: `pending`/`failed` → `indexing` → `ready` | `failed` with the reason;
 * a `ready` source being refreshed stays `ready` until its content is known to have changed, so
 * an unchanged refresh is skipped without a flicker. A transient failure (network, 5xx, timeout)
 * asks for a retry unless `finalAttempt`. Nothing partial is ever indexed: extraction finishes
 * before the single replace.
 */
export async function runIngestion(
  deps: IngestDeps,
  sourceId: string,
  options: {
    signal?: AbortSignal;
    finalAttempt?: boolean;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<IngestOutcome> {
  const { db, log } = deps.ctx;
  const row = db
    .query<{ chatbot_id: string; status: string }, [string]>(
      'SELECT chatbot_id, status FROM sources WHERE id = ?',
    )
    .get(sourceId);
  if (!row) return { outcome: 'gone' };
  const parsed = v.safeParse(FetchedSourceInput, getSourceInput(db, sourceId));
  if (!parsed.success) {
    const error = 'the source has no fetchable input';
    setSourceStatus(db, sourceId, { status: 'failed', error });
    return { outcome: 'failed', error };
  }
  const input = parsed.output;
  if (row.status !== 'ready') setSourceStatus(db, sourceId, { status: 'indexing', error: null });
  try {
    const docs = await loadDocuments(deps, sourceId, input, {
      signal: options.signal,
      onProgress: (done, total) => {
        if (exists(deps, sourceId)) setSourceStatus(db, sourceId, { progress: { done, total } });
        options.onProgress?.(done, total);
      },
    });
    if (!exists(deps, sourceId)) return { outcome: 'gone' };
    const before = db
      .query<{ content_hash: string | null; updated_at: string }, [string]>(
        'SELECT content_hash, updated_at FROM sources WHERE id = ?',
      )
      .get(sourceId);
    const source = await ingestDocuments(deps.ctx, { id: sourceId }, docs);
    // The source may have been deleted while its chunks were written: take them out again.
    if (!exists(deps, sourceId)) {
      await deps.ctx.store.deleteSource(row.chatbot_id, sourceId);
      return { outcome: 'gone' };
    }
    const unchanged = before?.updated_at === source.updatedAt && source.status === 'ready';
    return { outcome: unchanged ? 'unchanged' : 'indexed', source };
  } catch (e) {
    if (!exists(deps, sourceId)) {
      await deps.ctx.store.deleteSource(row.chatbot_id, sourceId).catch(() => {});
      return { outcome: 'gone' };
    }
    // Interrupted (the service is stopping): leave the source as it is and let the job resume.
    if (options.signal?.aborted) {
      if (!options.finalAttempt) return { outcome: 'retry', error: 'interrupted' };
      const error = 'Interrupted while indexing; refresh the source to try again';
      setSourceStatus(db, sourceId, { status: 'failed', error });
      return { outcome: 'failed', error };
    }
    const reason = failureReason(e);
    if (!reason.known) log.error({ err: e, sourceId }, 'source ingestion failed unexpectedly');
    if (reason.transient && !options.finalAttempt) {
      log.warn({ sourceId, error: reason.message }, 'source ingestion will be retried');
      return { outcome: 'retry', error: reason.message };
    }
    setSourceStatus(db, sourceId, { status: 'failed', error: capitalise(reason.message) });
    return { outcome: 'failed', error: reason.message };
  }
}

/**
 * The ingestion job kind (`INGEST_JOB`, registered by `registerJobs` in src/deps.ts). A stop
 * aborts running ingestions (a 15-minute crawl must not hold the shutdown); they resume at the
 * next start.
 */
export function ingestJob(deps: IngestDeps): JobHandler<IngestJobPayload> {
  return {
    // Two at once: a long crawl does not hold up a file upload, and 2 cores stay usable.
    concurrency: 2,
    maxAttempts: 3,
    backoff: { baseMs: 10_000, capMs: 120_000 },
    abortOnStop: true,
    run: async (job) => {
      const result = await runIngestion(deps, job.payload.sourceId, {
        signal: job.signal,
        finalAttempt: job.attempt >= job.maxAttempts,
      });
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

/** A deleted chatbot takes its URL, sitemap and file sources' waiting jobs and kept uploads along. */
export function forgetChatbotSources(deps: IngestDeps, worker: Worker, chatbotId: string): void {
  const ids = deps.ctx.db
    .query<{ id: string }, [string]>(
      "SELECT id FROM sources WHERE chatbot_id = ? AND type IN ('url', 'sitemap', 'file')",
    )
    .all(chatbotId);
  for (const { id } of ids) forgetSource(worker, deps.dataDir, id);
}
