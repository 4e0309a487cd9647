// Knowledge schemas: sources, search requests and hits (the single source of truth for routes).
import * as v from 'valibot';
import { FileSourceBody, SitemapSourceBody, UrlSourceBody } from '../ingest/model.ts';

/** Largest limit the search route accepts. */
export const MAX_SEARCH_LIMIT = 100;

export const SOURCE_TYPES = ['text', 'qa', 'url', 'sitemap', 'file'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
export const SOURCE_STATUSES = ['pending', 'indexing', 'ready', 'failed'] as const;
export type SourceStatus = (typeof SOURCE_STATUSES)[number];

/** Text that must hold something besides whitespace (an empty text is a 422). */
const nonBlank = (max: number) =>
  v.pipe(
    v.string(),
    v.check((s) => s.trim().length > 0, 'must not be empty'),
    v.maxLength(max),
  );

const externalId = v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(500)));

export const TextSourceBody = v.strictObject({
  type: v.literal('text'),
  title: nonBlank(500),
  text: nonBlank(5_000_000),
  /** Your own id for this document (e.g. the id in your help-centre); returned as `externalId`. */
  externalId,
});
export type TextSourceBody = v.InferOutput<typeof TextSourceBody>;

export const QaSourceBody = v.strictObject({
  type: v.literal('qa'),
  question: nonBlank(2_000),
  answer: nonBlank(100_000),
  externalId,
});
export type QaSourceBody = v.InferOutput<typeof QaSourceBody>;

/**
 * JSON bodies of POST …/sources. URL and sitemap bodies join this variant (202 + background job);
 * multipart `file` uploads are parsed before validation.
 */
export const CreateSourceBody = v.variant('type', [
  TextSourceBody,
  QaSourceBody,
  UrlSourceBody,
  SitemapSourceBody,
  FileSourceBody,
]);
export type CreateSourceBody = v.InferOutput<typeof CreateSourceBody>;

export const Source = v.object({
  id: v.string(),
  type: v.picklist(SOURCE_TYPES),
  title: v.string(),
  url: v.nullable(v.string()),
  externalId: v.nullable(v.string()),
  status: v.picklist(SOURCE_STATUSES),
  error: v.nullable(v.string()),
  chunkCount: v.number(),
  /**
   * Crawl progress (pages done / total), on sitemap sources only: the key is absent on every other
   * source, so they carry exactly the contract's source fields (docs/notes/contract.md).
   */
  progress: v.optional(v.object({ done: v.number(), total: v.number() })),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type Source = v.InferOutput<typeof Source>;

export const SourceList = v.object({ items: v.array(Source) });

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
