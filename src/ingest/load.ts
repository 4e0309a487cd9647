// Loading: a URL, a sitemap or a file becomes documents (one per page for a sitemap), each read
// and cut into passages by an extractor process.
import type { Config } from '../config.ts';
import { type Logger, redactUrl } from '../logging.ts';
import { crawlSitemap, fetchPage } from './crawl.ts';
import type { Extractor } from './extractor.ts';
import type { ExtractedDocument } from './extractor-process.ts';
import type { FileType } from './file-type.ts';
import type { Resolver } from './safe-fetch.ts';

/** Fetch and crawl settings, from the configuration (tests may add a resolver). */
export type LoadSettings = {
  allowPrivate: boolean;
  fetchTimeoutMs: number;
  pageMaxBytes: number;
  crawlDelayMs: number;
  crawlConcurrency: number;
  resolve?: Resolver;
};

export function loadSettings(config: Config): LoadSettings {
  return {
    allowPrivate: config.ALLOW_PRIVATE_URLS,
    fetchTimeoutMs: config.FETCH_TIMEOUT_MS,
    pageMaxBytes: config.FETCH_MAX_BYTES,
    crawlDelayMs: config.CRAWL_DELAY_MS,
    crawlConcurrency: config.CRAWL_CONCURRENCY,
  };
}

/** What to load: one HTML page, the pages a sitemap lists, or a file on disk. */
export type LoadTarget =
  | { type: 'url'; url: string }
  | { type: 'sitemap'; url: string; maxPages: number }
  | { type: 'file'; path: string; fileType: FileType; name: string };

/** A loaded document: what the extractor made of it, and the page URL (null for a file). */
export type LoadedDocument = ExtractedDocument & { url: string | null };

export type LoadDeps = { settings: LoadSettings; extractor: Extractor; log: Logger };

/** Fetches or reads `target` and turns it into documents (one per page for a sitemap). */
export async function loadDocuments(
  deps: LoadDeps,
  target: LoadTarget,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<LoadedDocument[]> {
  const { settings } = deps;
  const policy = {
    allowPrivate: settings.allowPrivate,
    timeoutMs: settings.fetchTimeoutMs,
    pageMaxBytes: settings.pageMaxBytes,
    signal: options.signal,
    resolve: settings.resolve,
  };
  switch (target.type) {
    case 'url':
      return [await fetchPage(target.url, policy, deps.extractor)];
    case 'sitemap': {
      const result = await crawlSitemap(
        target.url,
        {
          maxPages: target.maxPages,
          concurrency: settings.crawlConcurrency,
          delayMs: settings.crawlDelayMs,
        },
        policy,
        deps.extractor,
        (p) => options.onProgress?.(p.done, p.total),
      );
      if (result.failures.length > 0 || result.skippedByBudget > 0) {
        deps.log.warn(
          {
            failed: result.failures.length,
            skippedByBudget: result.skippedByBudget,
            firstFailure: result.failures[0] && {
              url: redactUrl(result.failures[0].url),
              reason: result.failures[0].reason,
            },
          },
          'some sitemap pages were not indexed',
        );
      }
      return result.pages;
    }
    case 'file': {
      const { path, fileType, name } = target;
      const document = await deps.extractor.file({ path, fileType, name }, options.signal);
      return [{ ...document, url: null }];
    }
  }
}
