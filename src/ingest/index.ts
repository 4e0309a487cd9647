// The ingestion feature as the sources routes use it: body parsing (JSON or multipart upload),
// creating URL/sitemap/file sources with their job, refresh, and clean-up on delete.
import type { Config } from '../config.ts';
import { type BodyParser, limitedBody, MULTIPART_OVERHEAD_BYTES, mediaType } from '../http/body.ts';
import type { Worker } from '../jobs/worker.ts';
import type { Source } from '../knowledge/model.ts';
import type { FileSourceBody, SitemapSourceBody, UrlSourceBody } from './model.ts';
import {
  createFileSource,
  createRemoteSource,
  enqueueIngest,
  forgetSource,
  type IngestDeps,
} from './service.ts';

export type IngestFeature = ReturnType<typeof ingestFeature>;

export type IngestFeatureDeps = {
  config: Pick<Config, 'BODY_LIMIT_BYTES' | 'UPLOAD_LIMIT_BYTES'>;
  worker: Worker;
  ingest: IngestDeps;
};

/** The sources routes' side of ingestion; its job kind is registered by `registerJobs` (src/deps.ts). */
export function ingestFeature(deps: IngestFeatureDeps) {
  const { ingest, worker } = deps;
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
      enqueueIngest(worker, source, chatbotId);
      return source;
    },
    /** Re-fetches a URL, sitemap or file source in the background (202). */
    refresh(chatbotId: string, source: Source): Source {
      enqueueIngest(worker, source, chatbotId);
      return source;
    },
    /** After a source was deleted: cancel its jobs and remove its kept upload. */
    forget(sourceId: string): void {
      forgetSource(worker, ingest.dataDir, sourceId);
    },
  };
}
