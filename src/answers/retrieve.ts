// The retrieve stage: the passages for the (rewritten) query, with the per-leg scores.
import type * as v from 'valibot';
import type { SearchHit as SearchHitSchema } from '../knowledge/model.ts';
import type { Logger } from '../logging.ts';
import type { Provenance } from './model.ts';
import { PASSAGES_MAX } from './prompt.ts';

/** A hit from retrieval, with the per-leg ranks and scores when the index explains them. */
export type RetrievedHit = v.InferOutput<typeof SearchHitSchema>;

/** A search hit as the playground shows it (docs/notes/contract.md, Shapes). */
export type SearchHit = Omit<RetrievedHit, 'explain'>;

/** The retrieval port (src/knowledge/search.ts searchKnowledge with `explain: true`). */
export type Retrieve = (
  query: { chatbotId: string; query: string; lexicalQuery: string; limit: number },
  signal?: AbortSignal,
) => Promise<RetrievedHit[]>;

/** The retrieve stage's part of the provenance, and the hits themselves. */
export type RetrievePart = Pick<Provenance, 'retrieval'> & {
  hits: RetrievedHit[];
  retrieveMs: number;
  /** Retrieval threw (an index or embedding failure, or the abort). */
  failed: boolean;
};

export async function retrieveStage(
  retrieve: Retrieve,
  log: Logger,
  query: { chatbotId: string; query: string; lexicalQuery: string },
  signal?: AbortSignal,
): Promise<RetrievePart> {
  const startedAt = performance.now();
  try {
    const hits = await retrieve({ ...query, limit: PASSAGES_MAX }, signal);
    const retrieval = hits.map((h) => ({
      chunkId: h.chunkId,
      sourceId: h.sourceId,
      fused: h.score,
      fts: h.explain?.fts ?? null,
      vector: h.explain?.vector ?? null,
    }));
    return { hits, retrieval, retrieveMs: performance.now() - startedAt, failed: false };
  } catch (cause) {
    if (!signal?.aborted) log.error({ err: cause, chatbotId: query.chatbotId }, 'retrieval failed');
    return { hits: [], retrieval: [], retrieveMs: performance.now() - startedAt, failed: true };
  }
}

/** The hit without its explanation (what callers show). */
export const toSearchHit = ({ sourceId, chunkId, title, url, text, score }: RetrievedHit) => ({
  sourceId,
  chunkId,
  title,
  url,
  text,
  score,
});
