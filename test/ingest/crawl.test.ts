import { afterEach, describe, expect, it } from 'bun:test';
import { crawlSitemap, fetchPage, MAX_PAGES_HARD } from '../../src/ingest/crawl.ts';
import { IngestError } from '../../src/ingest/errors.ts';
import { FetchError } from '../../src/ingest/safe-fetch.ts';
import { html, type LocalSite, sitemapIndex, startSite, urlset } from '../helpers/site.ts';
import { inProcessPages as pages } from '../helpers/sources.ts';

const policy = { allowPrivate: true };
const fast = { delayMs: 0 };
let site: LocalSite | undefined;
afterEach(() => {
  site?.stop();
  site = undefined;
});

const article = (n: number) =>
  html(`<nav>menu</nav><main><h1>Page ${n}</h1><p>Content of page ${n}.</p></main>`, `Page ${n}`);

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('fetchPage', () => {
  it('should extract the main content and keep the final URL', async () => {
    site = startSite({
      '/old': () => new Response(null, { status: 301, headers: { location: '/p1' } }),
      '/p1': article(1),
    });
    const page = await fetchPage(`${site.origin}/old`, policy, pages);
    expect(page).toMatchObject({
      url: `${site.origin}/p1`,
      title: 'Page 1',
      passages: [{ text: '# Page 1\n\nContent of page 1.' }],
    });
  });

  it('should fail on a non-HTML response with a clear reason', async () => {
    site = startSite({ '/doc.json': () => Response.json({ a: 1 }) });
    const e = await rejection(fetchPage(`${site.origin}/doc.json`, policy, pages));
    expect(e).toBeInstanceOf(FetchError);
    expect(e.message).toContain('application/json, not an HTML page');
  });

  it('should refuse a private URL by default', async () => {
    site = startSite({ '/p1': article(1) });
    const e = await rejection(fetchPage(`${site.origin}/p1`, { allowPrivate: false }, pages));
    expect((e as FetchError).failure).toBe('BLOCKED_ADDRESS');
    expect(site.hits).toHaveLength(0);
  });
});

describe('crawlSitemap', () => {
  it('should crawl an index of sitemaps on the same host, honouring robots.txt', async () => {
    site = startSite({
      '/robots.txt': 'User-agent: *\nDisallow: /private\n',
      '/p1': article(1),
      '/p2': article(2),
      '/p3': article(3),
      '/private/secret': article(99),
    });
    const o = site.origin;
    site.set(
      '/sitemap.xml',
      sitemapIndex([`${o}/s1.xml`, `${o}/s2.xml`, 'http://elsewhere.test/s.xml']),
    );
    site.set('/s1.xml', urlset([`${o}/p1`, `${o}/private/secret`, 'http://elsewhere.test/p']));
    site.set('/s2.xml', urlset([`${o}/p2`, `${o}/p3#section`, `${o}/p1`]));
    const progress: string[] = [];
    const result = await crawlSitemap(
      `${o}/sitemap.xml`,
      { maxPages: 50, ...fast },
      policy,
      pages,
      (p) => progress.push(`${p.done}/${p.total}`),
    );
    expect(result.pages.map((p) => p.title)).toEqual(['Page 1', 'Page 2', 'Page 3']);
    expect(result.total).toBe(3);
    expect(result.sitemapFiles).toBe(3);
    expect(progress).toEqual(['0/3', '1/3', '2/3', '3/3']);
    expect(site.hits).not.toContain('/private/secret');
    expect(site.hits[0]).toBe('/robots.txt');
  });

  it('should stop at maxPages', async () => {
    site = startSite();
    const urls = Array.from({ length: 20 }, (_, i) => `${site!.origin}/p${i}`);
    for (const [i, u] of urls.entries()) site.set(new URL(u).pathname, article(i));
    site.set('/sitemap.xml', urlset(urls));
    const result = await crawlSitemap(
      `${site.origin}/sitemap.xml`,
      { maxPages: 5, ...fast },
      policy,
      pages,
    );
    expect(result.pages).toHaveLength(5);
    expect(site.hits.filter((h) => h.startsWith('/p'))).toHaveLength(5);
  });

  it('should never exceed the hard page limit', () => {
    expect(MAX_PAGES_HARD).toBe(1000);
  });

  it('should keep to the concurrency limit', async () => {
    site = startSite();
    const urls = Array.from({ length: 8 }, (_, i) => `${site!.origin}/p${i}`);
    for (const [i, u] of urls.entries()) {
      site.set(new URL(u).pathname, async () => {
        // Each page answers on the next macrotask so that requests overlap if allowed to.
        await new Promise((r) => setImmediate(r));
        return article(i);
      });
    }
    site.set('/sitemap.xml', urlset(urls));
    await crawlSitemap(
      `${site.origin}/sitemap.xml`,
      { maxPages: 8, concurrency: 2, ...fast },
      policy,
      pages,
    );
    expect(site.maxInFlight()).toBeLessThanOrEqual(2);
  });

  it('should skip failing pages and report them', async () => {
    site = startSite({ '/p1': article(1), '/data': () => Response.json({}) });
    const o = site.origin;
    site.set('/sitemap.xml', urlset([`${o}/p1`, `${o}/missing`, `${o}/data`]));
    const result = await crawlSitemap(`${o}/sitemap.xml`, { maxPages: 10, ...fast }, policy, pages);
    expect(result.pages).toHaveLength(1);
    expect(result.failures.map((f) => f.url)).toEqual([`${o}/missing`, `${o}/data`]);
  });

  it('should fail when no page could be crawled', async () => {
    site = startSite();
    site.set('/sitemap.xml', urlset([`${site.origin}/missing`]));
    const e = await rejection(
      crawlSitemap(`${site.origin}/sitemap.xml`, { maxPages: 10, ...fast }, policy, pages),
    );
    expect(e).toBeInstanceOf(IngestError);
    expect(e.message).toContain('HTTP 404');
  });

  it('should fail when robots.txt disallows every listed page', async () => {
    site = startSite({ '/robots.txt': 'User-agent: answerdesk\nDisallow: /\n', '/p1': article(1) });
    site.set('/sitemap.xml', urlset([`${site.origin}/p1`]));
    const e = await rejection(
      crawlSitemap(`${site.origin}/sitemap.xml`, { maxPages: 10, ...fast }, policy, pages),
    );
    expect(e.message).toContain('robots.txt allows');
    expect(site.hits).not.toContain('/p1');
  });

  it('should not crawl when robots.txt is unreachable (5xx)', async () => {
    site = startSite({
      '/robots.txt': () => new Response('down', { status: 503 }),
      '/p1': article(1),
    });
    site.set('/sitemap.xml', urlset([`${site.origin}/p1`]));
    const e = await rejection(
      crawlSitemap(`${site.origin}/sitemap.xml`, { maxPages: 10, ...fast }, policy, pages),
    );
    expect(e.message).toContain('robots.txt could not be read');
    expect(site.hits).toEqual(['/robots.txt']);
  });

  it('should fail when the URL is not a sitemap', async () => {
    site = startSite({ '/': article(0) });
    const e = await rejection(
      crawlSitemap(`${site.origin}/`, { maxPages: 10, ...fast }, policy, pages),
    );
    expect(e.message).toContain('not a sitemap');
  });

  it('should space requests by the site Crawl-delay', async () => {
    site = startSite({
      '/robots.txt': 'User-agent: *\nCrawl-delay: 0.05\n',
      '/p1': article(1),
      '/p2': article(2),
    });
    site.set('/sitemap.xml', urlset([`${site.origin}/p1`, `${site.origin}/p2`]));
    const started = performance.now();
    await crawlSitemap(`${site.origin}/sitemap.xml`, { maxPages: 10, ...fast }, policy, pages);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('should stop waiting out a long Crawl-delay as soon as the crawl is aborted', async () => {
    site = startSite({
      '/robots.txt': 'User-agent: *\nCrawl-delay: 10\n',
      '/p1': article(1),
      '/p2': article(2),
    });
    site.set('/sitemap.xml', urlset([`${site.origin}/p1`, `${site.origin}/p2`]));
    const controller = new AbortController();
    const crawl = crawlSitemap(
      `${site.origin}/sitemap.xml`,
      { maxPages: 10, concurrency: 1, delayMs: 0 },
      { ...policy, signal: controller.signal },
      pages,
      ({ done }) => {
        // The first page is in; the crawl now waits 10 s before the second one.
        if (done === 1) setTimeout(() => controller.abort(), 50);
      },
    );
    const started = performance.now();
    const e = await rejection(crawl);
    expect((e as FetchError).failure).toBe('ABORTED');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(site.hits).not.toContain('/p2');
  });
});
