// Fetching a single page and crawling a site from its sitemap: same host, robots.txt honoured,
// bounded in pages, bytes, time and concurrency, and polite between requests.
import { IngestError } from './errors.ts';
import type { Extractor } from './extractor.ts';
import type { ExtractedDocument } from './extractor-process.ts';
import { parseRobots, type RobotsRules, robotsForStatus } from './robots.ts';
import {
  DEFAULT_FETCH_MAX_BYTES,
  DEFAULT_FETCH_TIMEOUT_MS,
  decodeText,
  FetchError,
  isHtmlType,
  type Resolver,
  ROBOTS_AGENT,
  safeFetch,
} from './safe-fetch.ts';
import { maybeGunzip, type ParsedSitemap, parseSitemap } from './sitemap.ts';

/** Pages a sitemap source crawls when it does not say. */
export const DEFAULT_MAX_PAGES = 100;
/** The most pages any sitemap source may crawl (a request asking for more is refused). */
export const MAX_PAGES_HARD = 1_000;
export const DEFAULT_CRAWL_CONCURRENCY = 2;
/** Minimum gap between two request starts to the same site. */
export const DEFAULT_CRAWL_DELAY_MS = 250;
/** A site's Crawl-delay is honoured up to this; longer ones are capped (and documented). */
export const CRAWL_DELAY_CAP_MS = 10_000;
/** Wall-clock budget of one crawl; pages not reached by then are left out. */
export const DEFAULT_CRAWL_BUDGET_MS = 15 * 60_000;
/** Sitemap files read per crawl (an index and its children), and index nesting depth. */
export const MAX_SITEMAP_FILES = 50;
export const MAX_SITEMAP_DEPTH = 3;
export const SITEMAP_MAX_BYTES = 20 * 1_048_576;
const ROBOTS_MAX_BYTES = 512 * 1024;

export type FetchPolicy = {
  allowPrivate: boolean;
  timeoutMs?: number;
  pageMaxBytes?: number;
  signal?: AbortSignal;
  resolve?: Resolver;
};

/** A page read from the web: its final URL (after redirects) and its passages. */
export type Page = ExtractedDocument & { url: string };

const HTML_ACCEPT = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1';

/** Reads a page's main content (in the extractor process; tests may read in process). */
export type PageExtractor = Pick<Extractor, 'html'>;

/** Fetches one HTML page and extracts its main content. Non-HTML answers fail. */
export async function fetchPage(
  url: string,
  policy: FetchPolicy,
  extractor: PageExtractor,
): Promise<Page> {
  const res = await safeFetch(url, {
    allowPrivate: policy.allowPrivate,
    timeoutMs: policy.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
    maxBytes: policy.pageMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
    signal: policy.signal,
    resolve: policy.resolve,
    accept: HTML_ACCEPT,
  });
  if (!isHtmlType(res.contentType)) {
    throw new FetchError(
      'UNSUPPORTED_CONTENT_TYPE',
      `the URL answered with ${res.contentType || 'no content type'}, not an HTML page (upload documents as files)`,
    );
  }
  const page = await extractor.html(
    decodeText(res.body, res.charset),
    new URL(res.url).pathname,
    policy.signal,
  );
  if (page.chars === 0) throw new IngestError('the page has no readable text');
  return { ...page, url: res.url, title: page.title || res.url };
}

/** Reads the site's robots.txt; a 4xx means no rules, an unreachable file means no crawling. */
export async function fetchRobots(origin: string, policy: FetchPolicy): Promise<RobotsRules> {
  try {
    const res = await safeFetch(new URL('/robots.txt', origin), {
      allowPrivate: policy.allowPrivate,
      timeoutMs: policy.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
      maxBytes: ROBOTS_MAX_BYTES,
      signal: policy.signal,
      resolve: policy.resolve,
      // Redirects of robots.txt itself are followed, also to another host (docs/notes/ingestion.md).
      sameHostRedirects: false,
      accept: 'text/plain,*/*;q=0.1',
    });
    return parseRobots(decodeText(res.body, res.charset), ROBOTS_AGENT);
  } catch (e) {
    // An unavailable robots.txt (4xx) means no rules at all (docs/notes/ingestion.md).
    if (e instanceof FetchError && e.failure === 'HTTP_STATUS' && (e.status ?? 0) < 500) {
      return robotsForStatus(e.status ?? 404);
    }
    if (e instanceof FetchError && e.failure === 'TOO_LARGE') {
      throw new IngestError('robots.txt is larger than 512 KiB; the site cannot be crawled');
    }
    // Unreachable robots.txt (5xx, network): complete disallow (docs/notes/ingestion.md).
    const reason = e instanceof FetchError ? e.message : 'unknown error';
    throw new IngestError(
      `robots.txt could not be read (${reason}); crawling is not allowed until it can`,
      e instanceof FetchError ? e.transient : true,
    );
  }
}

export type CrawlLimits = {
  maxPages: number;
  concurrency?: number;
  delayMs?: number;
  budgetMs?: number;
};

export type CrawlProgress = { done: number; total: number };

export type CrawlResult = {
  pages: Page[];
  failures: { url: string; reason: string }[];
  total: number;
  /** Pages listed but not crawled because the time budget ran out. */
  skippedByBudget: number;
  sitemapFiles: number;
};

const withoutHash = (u: URL) => {
  const copy = new URL(u);
  copy.hash = '';
  return copy.href;
};

/** Collects the same-host page URLs a sitemap (or sitemap index, nested) lists. */
async function collectUrls(
  start: URL,
  robots: RobotsRules,
  maxPages: number,
  policy: FetchPolicy,
): Promise<{ urls: string[]; files: number }> {
  const host = start.hostname;
  const urls = new Set<string>();
  const seen = new Set<string>();
  const queue: { url: string; depth: number }[] = [{ url: start.href, depth: 0 }];
  let files = 0;
  while (queue.length > 0 && urls.size < maxPages && files < MAX_SITEMAP_FILES) {
    const { url, depth } = queue.shift()!;
    if (seen.has(url)) continue;
    seen.add(url);
    files++;
    let parsed: ParsedSitemap | null;
    try {
      const res = await safeFetch(url, {
        allowPrivate: policy.allowPrivate,
        timeoutMs: policy.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
        maxBytes: SITEMAP_MAX_BYTES,
        signal: policy.signal,
        resolve: policy.resolve,
        accept: 'application/xml,text/xml,text/plain;q=0.9,*/*;q=0.1',
      });
      let body: Uint8Array;
      try {
        body = await maybeGunzip(res.body, SITEMAP_MAX_BYTES);
      } catch (e) {
        if (e instanceof IngestError) throw e;
        throw new IngestError('the sitemap is compressed but could not be decompressed');
      }
      parsed = await parseSitemap(decodeText(body, res.charset));
    } catch (e) {
      // The sitemap the admin gave must work; a broken child of an index is skipped.
      if (depth === 0) throw e;
      continue;
    }
    if (!parsed) {
      if (depth === 0) {
        throw new IngestError('the URL is not a sitemap (expected <urlset> or <sitemapindex>)');
      }
      continue;
    }
    if (parsed.kind === 'index') {
      if (depth + 1 > MAX_SITEMAP_DEPTH) continue;
      for (const child of parsed.sitemaps) {
        const u = safeUrl(child, url);
        if (u && u.hostname === host) queue.push({ url: withoutHash(u), depth: depth + 1 });
      }
      continue;
    }
    for (const loc of parsed.urls) {
      if (urls.size >= maxPages) break;
      const u = safeUrl(loc, url);
      if (!u || u.hostname !== host || !robots.isAllowed(u)) continue;
      urls.add(withoutHash(u));
    }
  }
  return { urls: [...urls], files };
}

function safeUrl(raw: string, base: string): URL | null {
  try {
    const u = new URL(raw, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
  } catch {
    return null;
  }
}

/** Waits `ms`, or less when `signal` aborts (it resolves either way; the caller checks). */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Crawls the pages a sitemap lists. Same host as the sitemap only, robots.txt honoured (our
 * token, else `*`), at most `maxPages`, `concurrency` requests at once with at least `delayMs`
 * (or the site's Crawl-delay, capped) between request starts, and a total time budget.
 * Pages that fail are reported in `failures`; the crawl fails only when no page succeeded.
 */
export async function crawlSitemap(
  sitemapUrl: string,
  limits: CrawlLimits,
  policy: FetchPolicy,
  extractor: PageExtractor,
  onProgress?: (progress: CrawlProgress) => void,
): Promise<CrawlResult> {
  const budgetMs = limits.budgetMs ?? DEFAULT_CRAWL_BUDGET_MS;
  const budget = AbortSignal.timeout(budgetMs);
  const signal = policy.signal ? AbortSignal.any([policy.signal, budget]) : budget;
  const scoped: FetchPolicy = { ...policy, signal };
  let start: URL;
  try {
    start = new URL(sitemapUrl);
  } catch {
    throw new FetchError('BAD_URL', 'not a valid absolute URL');
  }
  const maxPages = Math.max(1, Math.min(limits.maxPages, MAX_PAGES_HARD));
  const robots = await fetchRobots(start.origin, scoped);
  const { urls, files } = await collectUrls(start, robots, maxPages, scoped);
  if (urls.length === 0) {
    throw new IngestError(
      `the sitemap lists no pages on ${start.hostname} that robots.txt allows us to crawl`,
    );
  }
  const total = urls.length;
  onProgress?.({ done: 0, total });

  const gapMs = Math.max(
    limits.delayMs ?? DEFAULT_CRAWL_DELAY_MS,
    Math.min(robots.crawlDelayMs ?? 0, CRAWL_DELAY_CAP_MS),
  );
  const results: (Page | null)[] = new Array(total).fill(null);
  const failures: { url: string; reason: string }[] = [];
  let nextIndex = 0;
  let done = 0;
  let nextStartAt = 0;
  let skippedByBudget = 0;

  // Request starts are spaced by `gapMs` across all workers (one site, one politeness clock).
  // The wait ends early on abort: with a long Crawl-delay it could otherwise hold a shutdown
  // or a deleted source's job for (concurrency × delay).
  const slot = async () => {
    const now = Date.now();
    const at = Math.max(now, nextStartAt);
    nextStartAt = at + gapMs;
    if (at > now) await abortableSleep(at - now, signal);
  };

  const worker = async () => {
    for (;;) {
      if (signal.aborted) return;
      const i = nextIndex++;
      if (i >= total) return;
      await slot();
      if (signal.aborted) {
        nextIndex = total;
        return;
      }
      const url = urls[i]!;
      try {
        const page = await fetchPage(url, scoped, extractor);
        // A page that redirected within the host keeps its final URL for citations.
        results[i] = page;
      } catch (e) {
        if (policy.signal?.aborted) throw e;
        failures.push({ url, reason: e instanceof Error ? e.message : String(e) });
      }
      done++;
      onProgress?.({ done, total });
    }
  };
  const concurrency = Math.max(1, Math.min(limits.concurrency ?? DEFAULT_CRAWL_CONCURRENCY, 8));
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  if (policy.signal?.aborted) throw new FetchError('ABORTED', 'the crawl was cancelled');
  if (budget.aborted) skippedByBudget = total - done;

  const pages = results.filter((p): p is Page => p !== null);
  if (pages.length === 0) {
    const first = failures[0];
    throw new IngestError(
      budget.aborted && !first
        ? `no page could be crawled within the time budget (${Math.round(budgetMs / 1000)} s)`
        : `none of the ${total} pages could be indexed${first ? `; first failure: ${first.reason}` : ''}`,
    );
  }
  return { pages, failures, total, skippedByBudget, sitemapFiles: files };
}
