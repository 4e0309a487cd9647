// Admin routes for sources: add (text and Q&A at once; URL, sitemap and file uploads in the
// background), list, read, set the refresh schedule, remove, refresh.
import { Elysia } from 'elysia';
import type { Config } from '../config.ts';
import { type BodyParser, limitedBody, MULTIPART_OVERHEAD_BYTES, mediaType } from '../http/body.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams, SourceParams } from '../http/params.ts';
import type { Worker } from '../jobs/worker.ts';
import {
  createFileSource,
  createRemoteSource,
  enqueueFetch,
  forgetSource,
  isFetchedType,
} from './fetched.ts';
import { deleteSource } from './indexing.ts';
import { createInlineSource, refreshInlineSource } from './inline.ts';
import { CreateSourceBody, PatchSourceBody, Source, SourceList } from './model.ts';
import { getSource, listSources, setRefreshInterval } from './service.ts';
import type { SourcesDeps } from './types.ts';

export type SourceRouteDeps = {
  config: Pick<Config, 'BODY_LIMIT_BYTES' | 'UPLOAD_LIMIT_BYTES'>;
  worker: Worker;
  sources: SourcesDeps;
};

/**
 * Parse hook of POST …/sources: JSON as usual; a multipart upload becomes
 * `{ type: "file", file, title?, externalId? }` so one schema validates every source type.
 */
function sourceBodyParser(config: SourceRouteDeps['config']): BodyParser {
  const inner = limitedBody({
    jsonBytes: config.BODY_LIMIT_BYTES,
    multipartBytes: config.UPLOAD_LIMIT_BYTES + MULTIPART_OVERHEAD_BYTES,
  });
  return Object.assign(
    async (ctx: { request: Request }) => {
      const body = await inner(ctx);
      const isMultipart =
        mediaType(ctx.request.headers.get('content-type')) === 'multipart/form-data';
      if (isMultipart && body && typeof body === 'object') return { ...body, type: 'file' };
      return body;
    },
    { accepts: inner.accepts },
  );
}

// The OpenAPI group of sources, search and re-embedding (src/http/docs.ts).
const detail = (summary: string) => ({ tags: ['knowledge'], summary });

export function sourceRoutes(deps: SourceRouteDeps) {
  const { sources, worker } = deps;
  return new Elysia({ name: 'sources', prefix: '/api/v1/chatbots/:chatbotId/sources' })
    .post(
      '',
      async ({ params, body, status }) => {
        if (body.type === 'text' || body.type === 'qa') {
          return status(201, await createInlineSource(sources, params.chatbotId, body));
        }
        const source =
          body.type === 'file'
            ? await createFileSource(sources, params.chatbotId, body)
            : createRemoteSource(sources, params.chatbotId, body);
        enqueueFetch(worker, source, params.chatbotId);
        return status(202, source);
      },
      {
        params: ChatbotParams,
        body: CreateSourceBody,
        parse: sourceBodyParser(deps.config),
        response: {
          201: Source,
          202: Source,
          401: ErrorResponse,
          404: ErrorResponse,
          413: ErrorResponse,
          415: ErrorResponse,
          422: ErrorResponse,
          503: ErrorResponse,
        },
        detail: detail('Add a knowledge source (text and Q&A are searchable when this returns)'),
      },
    )
    .get('', ({ params }) => ({ items: listSources(sources.db, params.chatbotId) }), {
      params: ChatbotParams,
      response: { 200: SourceList, 401: ErrorResponse, 404: ErrorResponse },
      detail: detail('List sources with status and chunk counts'),
    })
    .get('/:sourceId', ({ params }) => getSource(sources.db, params.chatbotId, params.sourceId), {
      params: SourceParams,
      response: { 200: Source, 401: ErrorResponse, 404: ErrorResponse },
      detail: detail('Read a source'),
    })
    .patch(
      '/:sourceId',
      ({ params, body }) =>
        setRefreshInterval(
          sources.db,
          params.chatbotId,
          params.sourceId,
          body.refreshIntervalHours,
        ),
      {
        params: SourceParams,
        body: PatchSourceBody,
        response: { 200: Source, 401: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse },
        detail: detail(
          'Set how often a url or sitemap source is fetched again (refreshIntervalHours, null = never)',
        ),
      },
    )
    .delete(
      '/:sourceId',
      async ({ params, set }) => {
        await deleteSource(sources, params.chatbotId, params.sourceId);
        forgetSource(worker, sources.dataDir, params.sourceId);
        set.status = 204;
      },
      {
        params: SourceParams,
        response: { 401: ErrorResponse, 404: ErrorResponse },
        detail: detail('Remove a source; its chunks leave the index at once'),
      },
    )
    .post(
      '/:sourceId/refresh',
      ({ params, status }) => {
        const source = getSource(sources.db, params.chatbotId, params.sourceId);
        if (!isFetchedType(source.type)) {
          return refreshInlineSource(sources, params.chatbotId, params.sourceId);
        }
        enqueueFetch(worker, source, params.chatbotId, 'manual');
        return status(202, source);
      },
      {
        params: SourceParams,
        response: {
          200: Source,
          202: Source,
          400: ErrorResponse,
          401: ErrorResponse,
          404: ErrorResponse,
          503: ErrorResponse,
        },
        detail: detail(
          'Re-index a source (unchanged content is skipped; changed content starts the answer tests)',
        ),
      },
    );
}
