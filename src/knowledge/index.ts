// Admin routes for knowledge: sources of a chatbot, search, and re-embedding the index.
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import { getChatbot } from '../chatbots/service.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams, SourceParams } from '../http/params.ts';
import { type IngestFeatureDeps, ingestFeature } from '../ingest/index.ts';
import { isFetchedType } from '../ingest/service.ts';
import type { Logger } from '../logging.ts';
import type { WriteHealth } from '../storage/sqlite/write-health.ts';
import type { LanceKnowledgeStore } from './index-store.ts';
import { createInlineSource, recoverInterruptedSources, refreshSource } from './inline-sources.ts';
import {
  CreateSourceBody,
  ReindexResponse,
  SearchBody,
  SearchQuery,
  SearchResponse,
  Source,
  SourceList,
} from './model.ts';
import { searchKnowledge } from './search.ts';
import { deleteSource, getSource, type KnowledgeCtx, listSources } from './service.ts';

export type KnowledgeCtxDeps = {
  db: Database;
  knowledge: LanceKnowledgeStore;
  log: Logger;
  storage: WriteHealth;
};

export type KnowledgeRouteDeps = KnowledgeCtxDeps & IngestFeatureDeps;

export function knowledgeCtx(deps: KnowledgeCtxDeps): KnowledgeCtx {
  return {
    db: deps.db,
    store: deps.knowledge,
    log: deps.log.child({ component: 'knowledge' }),
    storage: deps.storage,
  };
}

export function knowledgeRoutes(deps: KnowledgeRouteDeps) {
  const ctx = knowledgeCtx(deps);
  // Text and Q&A sources left `indexing` by a crash or a full disk: failed now (at start), and
  // again whenever writes pass after a failure.
  const recover = () => recoverInterruptedSources(deps.db, ctx.log);
  try {
    recover();
  } catch (err) {
    if (!deps.storage.report(err)) throw err;
  }
  deps.storage.onRecovered(recover);
  // URL, sitemap and file sources: background jobs of the ingestion feature (src/ingest).
  const ingestion = ingestFeature(deps);
  let reembedding: Promise<number> | undefined;
  return new Elysia({ name: 'knowledge', prefix: '/api/v1' })
    .post(
      '/chatbots/:chatbotId/sources',
      async ({ params, body, set }) => {
        if (body.type === 'url' || body.type === 'sitemap' || body.type === 'file') {
          set.status = 202;
          return ingestion.create(params.chatbotId, body);
        }
        const source = await createInlineSource(ctx, params.chatbotId, body);
        set.status = 201;
        return source;
      },
      {
        params: ChatbotParams,
        body: CreateSourceBody,
        parse: ingestion.parse,
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
        detail: {
          tags: ['knowledge'],
          summary: 'Add a knowledge source (text and Q&A are searchable when this returns)',
        },
      },
    )
    .get(
      '/chatbots/:chatbotId/sources',
      ({ params }) => ({ items: listSources(deps.db, params.chatbotId) }),
      {
        params: ChatbotParams,
        response: { 200: SourceList, 401: ErrorResponse, 404: ErrorResponse },
        detail: { tags: ['knowledge'], summary: 'List sources with status and chunk counts' },
      },
    )
    .get(
      '/chatbots/:chatbotId/sources/:sourceId',
      ({ params }) => getSource(deps.db, params.chatbotId, params.sourceId),
      {
        params: SourceParams,
        response: { 200: Source, 401: ErrorResponse, 404: ErrorResponse },
        detail: { tags: ['knowledge'], summary: 'Read a source' },
      },
    )
    .delete(
      '/chatbots/:chatbotId/sources/:sourceId',
      async ({ params, set }) => {
        await deleteSource(ctx, params.chatbotId, params.sourceId);
        ingestion.forget(params.sourceId);
        set.status = 204;
      },
      {
        params: SourceParams,
        response: { 401: ErrorResponse, 404: ErrorResponse },
        detail: {
          tags: ['knowledge'],
          summary: 'Remove a source; its chunks leave the index at once',
        },
      },
    )
    .post(
      '/chatbots/:chatbotId/sources/:sourceId/refresh',
      ({ params, set }) => {
        const source = getSource(deps.db, params.chatbotId, params.sourceId);
        if (isFetchedType(source.type)) {
          set.status = 202;
          return ingestion.refresh(params.chatbotId, source);
        }
        return refreshSource(ctx, params.chatbotId, params.sourceId);
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
        detail: {
          tags: ['knowledge'],
          summary: 'Re-index a source (unchanged content is skipped)',
        },
      },
    )
    .post(
      '/chatbots/:chatbotId/search',
      async ({ params, body, query }) => {
        getChatbot(deps.db, params.chatbotId);
        const explain = query.explain === 'true' || query.explain === '1';
        const hits = await searchKnowledge(deps.knowledge, {
          chatbotId: params.chatbotId,
          query: body.query,
          limit: body.limit,
          explain,
        });
        return {
          hits: hits.map((h) => ({
            sourceId: h.sourceId,
            chunkId: h.chunkId,
            title: h.title,
            url: h.url,
            text: h.text,
            score: h.score,
            ...(explain ? { explain: h.explain } : {}),
          })),
        };
      },
      {
        params: ChatbotParams,
        body: SearchBody,
        query: SearchQuery,
        response: {
          200: SearchResponse,
          401: ErrorResponse,
          404: ErrorResponse,
          422: ErrorResponse,
        },
        detail: {
          tags: ['knowledge'],
          summary:
            'Hybrid search (full-text + vectors, reciprocal rank fusion); ?explain=true adds each leg’s rank and score',
        },
      },
    )
    .post(
      '/reindex',
      ({ set }) => {
        const status = reembedding ? 'running' : 'started';
        if (!reembedding) {
          reembedding = deps.knowledge
            .reembed()
            .catch((e) => {
              ctx.log.error({ err: e }, 're-embedding the chunk index failed');
              return 0;
            })
            .finally(() => {
              reembedding = undefined;
            });
        }
        set.status = 202;
        return { status, embedding: deps.knowledge.configuredSpace };
      },
      {
        response: { 202: ReindexResponse, 401: ErrorResponse },
        detail: {
          tags: ['knowledge'],
          summary:
            'Re-embed every chunk with the configured embedder (background; search stays full-text meanwhile)',
        },
      },
    );
}
