// The ingestion feature as the sources routes use it: body parsing (JSON or multipart upload),
// creating URL/sitemap/file sources with their job, refresh, and clean-up on delete.
import type { AppDeps } from '../app.ts';
import { type BodyParser, limitedBody, MULTIPART_OVERHEAD_BYTES, mediaType } from '../http/body.ts';
import type { Source } from '../knowledge/model.ts';
import { ExtractorPool, extractorOptions } from './extractor.ts';
import type { FileSourceBody, SitemapSourceBody, UrlSourceBody } from './model.ts';
import {
  createFileSource,
  createRemoteSource,
  enqueueIngest,
  forgetSource,
  type IngestDeps,
  ingestSettings,
  registerIngestJob,
} from './service.ts';

export type IngestFeature = ReturnType<typeof ingestFeature>;

/** Builds the feature over the app's dependencies and registers its job kind on the worker. */
export function ingestFeature(deps: AppDeps, extra: Partial<IngestDeps['settings']> = {}) {
  const log = deps.log.child({ component: 'ingest' });
  const ingest: IngestDeps = {
    ctx: { db: deps.db, store: deps.knowledge, log },
    dataDir: deps.config.DATA_DIR,
    settings: { ...ingestSettings(deps.config), ...extra },
    extractor: new ExtractorPool(extractorOptions(deps.config, log)),
  };
  const jobs = registerIngestJob(deps.worker, ingest);
  // Runs after the jobs were interrupted (next hook): no extractor process outlives the service.
  deps.onShutdown.push(() => ingest.extractor.close());
  // Runs before the worker's own stop hook (hooks run last-registered first), so a long crawl is
  // interrupted instead of holding the shutdown; the job resumes at the next start.
  deps.onShutdown.push(jobs.interrupt);
  // A deleted chatbot takes its sources' kept uploads and waiting jobs with it.
  deps.onChatbotDelete.push((chatbotId) => {
    const ids = deps.db
      .query<{ id: string }, [string]>(
        "SELECT id FROM sources WHERE chatbot_id = ? AND type IN ('url', 'sitemap', 'file')",
      )
      .all(chatbotId);
    for (const { id } of ids) forgetSource(deps.worker, ingest.dataDir, id);
  });

  const inner = limitedBody({
    jsonBytes: deps.config.BODY_LIMIT_BYTES,
    multipartBytes: deps.config.UPLOAD_LIMIT_BYTES + MULTIPART_OVERHEAD_BYTES,
  });
  /**
   * Parse hook of POST …/sources: JSON as usual; a multipart upload becomes
   * `{ type: "file", file, title?, externalId? }` so one schema validates every source type.
   */
  const parse: BodyParser = Object.assign(
    async (ctx: { request: Request }) => {
      const body = await inner(ctx);
      const isMultipart =
        mediaType(ctx.request.headers.get('content-type')) === 'multipart/form-data';
      if (isMultipart && body && typeof body === 'object') return { ...body, type: 'file' };
      return body;
    },
    { accepts: inner.accepts },
  );

  return {
    deps: ingest,
    parse,
    /** Creates a URL, sitemap or file source and commits its job; the route answers 202. */
    async create(
      chatbotId: string,
      body: UrlSourceBody | SitemapSourceBody | FileSourceBody,
    ): Promise<Source> {
      const source =
        body.type === 'file'
          ? await createFileSource(ingest, chatbotId, body)
          : createRemoteSource(ingest, chatbotId, body);
      enqueueIngest(deps.worker, source, chatbotId);
      return source;
    },
    /** Re-fetches a URL, sitemap or file source in the background (202). */
    refresh(chatbotId: string, source: Source): Source {
      enqueueIngest(deps.worker, source, chatbotId);
      return source;
    },
    /** After a source was deleted: cancel its jobs and remove its kept upload. */
    forget(sourceId: string): void {
      forgetSource(deps.worker, ingest.dataDir, sourceId);
    },
  };
}
