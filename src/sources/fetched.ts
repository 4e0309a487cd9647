// URL, sitemap and file sources: created `pending` with a committed background job (202), the
// upload kept for refreshes, and their jobs and upload forgotten when they are deleted.
import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import { DEFAULT_MAX_PAGES } from '../ingest/crawl.ts';
import { ExtractError } from '../ingest/errors.ts';
import { detectFileType } from '../ingest/file-type.ts';
import type { Worker } from '../jobs/worker.ts';
import type {
  FetchedSourceInput,
  FileSourceBody,
  SitemapSourceBody,
  Source,
  UrlSourceBody,
} from './model.ts';
import { createSourceRecord, deleteSourceRecord, fetchedSourceIds } from './service.ts';
import type { RefreshTrigger, SourcesDeps } from './types.ts';

/** The kind of the job that fetches and indexes a URL, sitemap or file source (fetch-job.ts). */
export const FETCH_JOB = 'source.ingest';
/**
 * `refresh`: set when the job re-fetches a source that was added before (by an admin or the
 * schedule); a refresh that changes the content starts the answer tests (types.ts).
 */
export type FetchJobPayload = { sourceId: string; refresh?: RefreshTrigger };

/** Where an uploaded file is kept (so a refresh can read it again); removed with its source. */
export const uploadPath = (dataDir: string, sourceId: string) =>
  join(dataDir, 'uploads', sourceId.replace(/[^\w-]/g, '_'));

/** Jobs of one source run one at a time (an ingest and a refresh never overlap). */
const serialKeyOf = (sourceId: string) => `source:${sourceId}`;

export const isFetchedType = (type: string): type is FetchedSourceInput['type'] =>
  type === 'url' || type === 'sitemap' || type === 'file';

export const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Creates a URL or sitemap source (status `pending`); the caller enqueues its job. */
export function createRemoteSource(
  deps: SourcesDeps,
  chatbotId: string,
  body: UrlSourceBody | SitemapSourceBody,
): Source {
  const url = new URL(body.url).href;
  const input: FetchedSourceInput =
    body.type === 'url'
      ? { type: 'url', url }
      : { type: 'sitemap', url, maxPages: body.maxPages ?? DEFAULT_MAX_PAGES };
  return createSourceRecord(deps, chatbotId, {
    type: body.type,
    title: url,
    url,
    externalId: body.externalId ?? null,
    input,
    refreshIntervalHours: body.refreshIntervalHours ?? null,
  });
}

/**
 * Checks an upload (413 over the limit, 415 for an unsupported type), keeps the file in
 * DATA_DIR/uploads and creates its source (status `pending`); the caller enqueues its job.
 */
export async function createFileSource(
  deps: SourcesDeps,
  chatbotId: string,
  body: Pick<FileSourceBody, 'file' | 'title' | 'externalId'>,
): Promise<Source> {
  const { file } = body;
  if (file.size > deps.uploadLimitBytes) {
    throw new AppError(
      'PAYLOAD_TOO_LARGE',
      `The file is larger than the upload limit of ${deps.uploadLimitBytes} bytes (UPLOAD_LIMIT_BYTES)`,
    );
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const fileName = (file.name || 'upload').replace(/^.*[\\/]/, '').slice(0, 255);
  let fileType: ReturnType<typeof detectFileType>;
  try {
    fileType = detectFileType(fileName, bytes);
  } catch (e) {
    if (e instanceof ExtractError) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', capitalise(e.message));
    }
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
  const source = createSourceRecord(deps, chatbotId, {
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
    deleteSourceRecord(deps.db, source.id);
    throw e;
  }
  return source;
}

/** Commits the background job of a source; a newer request replaces one still waiting. */
export function enqueueFetch(
  worker: Worker,
  source: Pick<Source, 'id'>,
  chatbotId: string,
  refresh?: RefreshTrigger,
) {
  worker.cancelPending(serialKeyOf(source.id), 'superseded by a newer request');
  return worker.enqueue<FetchJobPayload>(
    FETCH_JOB,
    refresh ? { sourceId: source.id, refresh } : { sourceId: source.id },
    { chatbotId, serialKey: serialKeyOf(source.id) },
  );
}

/** Stops a source's waiting and running jobs and removes its kept upload (before/at delete). */
export function forgetSource(worker: Worker, dataDir: string, sourceId: string): void {
  worker.cancelPending(serialKeyOf(sourceId), 'the source was deleted');
  worker.abortRunning(serialKeyOf(sourceId), 'the source was deleted');
  rmSync(uploadPath(dataDir, sourceId), { force: true });
}

/** A deleted chatbot takes its URL, sitemap and file sources' waiting jobs and kept uploads along. */
export function forgetChatbotSources(deps: SourcesDeps, worker: Worker, chatbotId: string): void {
  for (const id of fetchedSourceIds(deps.db, chatbotId)) forgetSource(worker, deps.dataDir, id);
}
