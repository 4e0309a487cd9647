// Schemas of the fetched source types: URL, sitemap and uploaded file (joined into the sources
// route's body by src/knowledge/model.ts).
import * as v from 'valibot';
import { DEFAULT_MAX_PAGES, MAX_PAGES_HARD } from './crawl.ts';

const httpUrl = v.pipe(
  v.string(),
  v.trim(),
  v.maxLength(2_048),
  v.url('must be an absolute URL'),
  v.regex(/^https?:\/\//i, 'must be an http or https URL'),
);

const externalId = v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(500)));

export const UrlSourceBody = v.strictObject({
  type: v.literal('url'),
  /** One HTML page; its main content is indexed with the page URL for citations. */
  url: httpUrl,
  externalId,
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
