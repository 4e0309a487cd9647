// Source schemas: the five bodies of POST …/sources, the source itself, and the stored input a
// refresh reads (the single source of truth for routes and services).
import * as v from 'valibot';
import { DEFAULT_MAX_PAGES, MAX_PAGES_HARD } from '../ingest/crawl.ts';

export const SOURCE_TYPES = ['text', 'qa', 'url', 'sitemap', 'file'] as const;
export const SourceType = v.picklist(SOURCE_TYPES);
export type SourceType = v.InferOutput<typeof SourceType>;
export const SourceStatus = v.picklist(['pending', 'indexing', 'ready', 'failed']);
export type SourceStatus = v.InferOutput<typeof SourceStatus>;

/** Text that must hold something besides whitespace (an empty text is a 422). */
const nonBlank = (max: number) =>
  v.pipe(
    v.string(),
    v.check((s) => s.trim().length > 0, 'must not be empty'),
    v.maxLength(max),
  );

/** Your own id for this document (e.g. the id in your help-centre); returned as `externalId`. */
const externalId = v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(500)));

/** A body indexed by the request itself: its `type`, its texts, and an optional external id. */
const inlineBody = <T extends string, F extends v.ObjectEntries>(type: T, texts: F) =>
  v.strictObject({ type: v.literal(type), ...texts, externalId });

/** A document; Markdown headings (`#`) split it into sections, each chunk keeps its headings. */
export const TextSourceBody = inlineBody('text', {
  title: nonBlank(500),
  text: nonBlank(5_000_000),
});
export type TextSourceBody = v.InferOutput<typeof TextSourceBody>;

/** A question and its answer, indexed as one chunk, never split, whatever its size. */
export const QaSourceBody = inlineBody('qa', {
  question: nonBlank(2_000),
  answer: nonBlank(100_000),
});
export type QaSourceBody = v.InferOutput<typeof QaSourceBody>;

const httpUrl = v.pipe(
  v.string(),
  v.trim(),
  v.maxLength(2_048),
  v.url('must be an absolute URL'),
  v.regex(/^https?:\/\//i, 'must be an http or https URL'),
);

/** Hours between scheduled refreshes (null: never); a url or sitemap source only. */
export const REFRESH_INTERVAL_HOURS_MAX = 8_760;
export const RefreshIntervalHours = v.nullable(
  v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(REFRESH_INTERVAL_HOURS_MAX)),
);

export const UrlSourceBody = v.strictObject({
  type: v.literal('url'),
  /** One HTML page; its main content is indexed with the page URL for citations. */
  url: httpUrl,
  externalId,
  /** Re-fetch every N hours (1–8,760, ±10 % jitter); null or absent: only when asked. */
  refreshIntervalHours: v.optional(RefreshIntervalHours),
});
export type UrlSourceBody = v.InferOutput<typeof UrlSourceBody>;

export const SitemapSourceBody = v.strictObject({
  type: v.literal('sitemap'),
  /** A sitemap.xml (or sitemap index); pages of the same host are crawled. */
  url: httpUrl,
  /** Pages to crawl at most (default 100, at most 1,000). */
  maxPages: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PAGES_HARD)),
    DEFAULT_MAX_PAGES,
  ),
  externalId,
  /** Re-crawl every N hours (1–8,760, ±10 % jitter); null or absent: only when asked. */
  refreshIntervalHours: v.optional(RefreshIntervalHours),
});
export type SitemapSourceBody = v.InferOutput<typeof SitemapSourceBody>;

/**
 * A multipart upload, as the route's parse hook hands it over: the form's fields plus
 * `type: "file"`. The file may be PDF, DOCX, Markdown, plain text or HTML.
 */
export const FileSourceBody = v.strictObject({
  type: v.literal('file'),
  file: v.pipe(
    v.file('must be a file (multipart field "file")'),
    v.metadata({ type: 'string', format: 'binary' }),
  ),
  /** Overrides the title taken from the document. */
  title: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(500))),
  externalId,
});
export type FileSourceBody = v.InferOutput<typeof FileSourceBody>;

/**
 * Bodies of POST …/sources: text and Q&A are indexed by the request (201); URL, sitemap and file
 * by a background job (202). Multipart `file` uploads are parsed into the file body before
 * validation.
 */
export const CreateSourceBody = v.variant('type', [
  TextSourceBody,
  QaSourceBody,
  UrlSourceBody,
  SitemapSourceBody,
  FileSourceBody,
]);
export type CreateSourceBody = v.InferOutput<typeof CreateSourceBody>;

/** What a source shows of the answer-test run its last content-changing refresh started. */
export const LastTestRun = v.object({
  runId: v.string(),
  status: v.picklist(['queued', 'running', 'done', 'failed']),
  passed: v.number(),
  failed: v.number(),
  finishedAt: v.nullable(v.string()),
});
export type LastTestRun = v.InferOutput<typeof LastTestRun>;

export const Source = v.object({
  id: v.string(),
  type: SourceType,
  title: v.string(),
  url: v.nullable(v.string()),
  externalId: v.nullable(v.string()),
  status: SourceStatus,
  error: v.nullable(v.string()),
  chunkCount: v.number(),
  /**
   * Crawl progress (pages done / total), on sitemap sources only: the key is absent on every other
   * source, so they carry exactly the contract's source fields (docs/notes/contract.md).
   */
  progress: v.optional(v.object({ done: v.number(), total: v.number() })),
  /** Url and sitemap sources only: hours between scheduled refreshes, null = never. */
  refreshIntervalHours: v.optional(v.nullable(v.number())),
  /**
   * Url, sitemap and file sources only: the answer-test run the last refresh that changed this
   * source's content started (null: none yet). `failed` counts failing tests.
   */
  lastTestRun: v.optional(v.nullable(LastTestRun)),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type Source = v.InferOutput<typeof Source>;

/** Body of PATCH …/sources/:sourceId: the refresh schedule (url and sitemap sources). */
export const PatchSourceBody = v.strictObject({ refreshIntervalHours: RefreshIntervalHours });

export const SourceList = v.object({ items: v.array(Source) });

/** The stored input of a fetched source: what a refresh needs to fetch it again. */
export const FetchedSourceInput = v.variant('type', [
  v.object({ type: v.literal('url'), url: v.string() }),
  v.object({ type: v.literal('sitemap'), url: v.string(), maxPages: v.number() }),
  v.object({
    type: v.literal('file'),
    fileName: v.string(),
    fileType: v.picklist(['pdf', 'docx', 'markdown', 'text', 'html']),
    sizeBytes: v.number(),
    sha256: v.string(),
    title: v.optional(v.string()),
  }),
]);
export type FetchedSourceInput = v.InferOutput<typeof FetchedSourceInput>;
