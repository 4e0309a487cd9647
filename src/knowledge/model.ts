// Knowledge schemas: search requests and hits, re-embedding (the single source of truth for routes).
import * as v from 'valibot';

/** Largest limit the search route accepts. */
export const MAX_SEARCH_LIMIT = 100;

export const SearchBody = v.strictObject({
  query: v.pipe(v.string(), v.maxLength(4_000)),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_SEARCH_LIMIT))),
});

export const SearchQuery = v.object({
  explain: v.optional(v.picklist(['true', 'false', '1', '0'])),
});

/** One leg's part in a hit (full-text or vector): its rank there (from 1) and its score. */
export const LegScore = v.object({ rank: v.number(), score: v.number() });
export type LegScore = v.InferOutput<typeof LegScore>;

const LegExplain = v.nullable(LegScore);

export const SearchHit = v.object({
  sourceId: v.string(),
  chunkId: v.string(),
  title: v.string(),
  url: v.nullable(v.string()),
  text: v.string(),
  score: v.number(),
  explain: v.optional(v.object({ fts: LegExplain, vector: LegExplain })),
});

export const SearchResponse = v.object({ hits: v.array(SearchHit) });

export const ReindexResponse = v.object({
  /** `started`, or `running` when a re-embed was already under way. */
  status: v.picklist(['started', 'running']),
  /** The embedding space being built: `provider:model:dimension`, or `none`. */
  embedding: v.string(),
});
