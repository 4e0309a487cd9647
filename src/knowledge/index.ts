// Admin routes on the chunk index: search a chatbot's knowledge, and re-embed the index. Sources
// (what the chunks come from) have their own routes in src/sources.
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import { getChatbot } from '../chatbots/service.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import type { Logger } from '../logging.ts';
import type { LanceKnowledgeStore } from './index-store.ts';
import { ReindexResponse, SearchBody, SearchQuery, SearchResponse } from './model.ts';
import { searchKnowledge } from './search.ts';

export type KnowledgeRouteDeps = {
  db: Database;
  knowledge: LanceKnowledgeStore;
  log: Logger;
};

export function knowledgeRoutes(deps: KnowledgeRouteDeps) {
  const log = deps.log.child({ component: 'knowledge' });
  let reembedding: Promise<number> | undefined;
  return new Elysia({ name: 'knowledge', prefix: '/api/v1' })
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
              log.error({ err: e }, 're-embedding the chunk index failed');
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
