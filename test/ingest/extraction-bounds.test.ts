// Hostile documents (security issue D2, D3, D6, D9) end in a bounded outcome, and the real server
// answers /healthz within 1 s while they are being processed.
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test';
import { PDF_MAX_PAGES } from '../../src/ingest/pdf.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import type { TestApp } from '../helpers/app.ts';
import { makePdf } from '../helpers/pdf.ts';
import { html, type LocalSite, startSite, xml } from '../helpers/site.ts';
import {
  addJson,
  buildIngestApp,
  createChatbot,
  getSourceJson,
  healthWhileDraining,
  searchHits,
  upload,
} from '../helpers/sources.ts';

// Seconds each on a quiet machine; room for a loaded CI host (the 1 s bound is the assertion).
setDefaultTimeout(30_000);

let t: TestApp;
let server: RunningServer;
let site: LocalSite;
let chatbotId: string;

const nested = (levels: number, text: string) =>
  `${'<div>'.repeat(levels)}<p>${text}</p>${'</div>'.repeat(levels)}`;

beforeAll(async () => {
  t = await buildIngestApp({ PORT: '0', HOST: '127.0.0.1' });
  server = startServer(t.deps, t.app);
  chatbotId = await createChatbot(t);
  site = startSite({
    '/deep': html(nested(100_000, 'Parcels to Iceland take nine days.'), 'Deep page'),
    '/p1': html('<main><h1>Warranty</h1><p>The warranty lasts three years.</p></main>', 'P1'),
    '/p2': html('<main><h1>Returns</h1><p>Returns are free within a fortnight.</p></main>', 'P2'),
  });
});
afterAll(async () => {
  site.stop();
  await server.stop('test');
  await t.close();
});

describe('hostile documents (bounded, /healthz answers meanwhile)', () => {
  it('should index an upload of 1,500 nested <div> while /healthz answers within 1 s (D2)', async () => {
    const page = `<html><head><title>Nested</title></head><body>${nested(1_500, 'Deliveries to Malta take five days.')}</body></html>`;
    const created = await (await upload(t, chatbotId, 'nested.html', page)).json();
    const health = await healthWhileDraining(t, server.url);
    expect(health.slowestMs).toBeLessThan(1_000);
    expect(await getSourceJson(t, chatbotId, created.id)).toMatchObject({ status: 'ready' });
    expect((await searchHits(t, chatbotId, 'Malta five days'))[0]?.text).toContain('Malta');
  });

  it('should index a crawled page of 100,000 nested <div> while /healthz answers within 1 s (D2)', async () => {
    const res = await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/deep` });
    const created = await res.json();
    const health = await healthWhileDraining(t, server.url);
    expect(health.slowestMs).toBeLessThan(1_000);
    expect(await getSourceJson(t, chatbotId, created.id)).toMatchObject({ status: 'ready' });
    expect((await searchHits(t, chatbotId, 'Iceland nine days'))[0]?.text).toContain('Iceland');
  });

  it('should refuse a PDF of 20,000 pages with the reason while /healthz answers within 1 s (D3)', async () => {
    const pages = Array.from({ length: 20_000 }, (_, i) => [`Page ${i + 1} of the pump manual.`]);
    const created = await (await upload(t, chatbotId, 'manual.pdf', makePdf(pages))).json();
    const health = await healthWhileDraining(t, server.url);
    expect(health.slowestMs).toBeLessThan(1_000);
    expect(await getSourceJson(t, chatbotId, created.id)).toMatchObject({
      status: 'failed',
      error: `The PDF has 20000 pages; at most ${PDF_MAX_PAGES} are read (split it into parts)`,
      chunkCount: 0,
    });
  });

  it('should crawl a sitemap trailing 400 KB of unclosed <url> while /healthz answers within 1 s (D6)', async () => {
    site.set(
      '/sitemap.xml',
      xml(`<urlset><url><loc>${site.origin}/p1</loc></url>${'<url>'.repeat(80_000)}</urlset>`),
    );
    const res = await addJson(t, chatbotId, { type: 'sitemap', url: `${site.origin}/sitemap.xml` });
    const created = await res.json();
    const health = await healthWhileDraining(t, server.url);
    expect(health.slowestMs).toBeLessThan(1_000);
    expect(await getSourceJson(t, chatbotId, created.id)).toMatchObject({
      status: 'ready',
      progress: { done: 1, total: 1 },
    });
  });

  it('should skip a sitemap entry with an invalid character reference and crawl the rest (D9)', async () => {
    const o = site.origin;
    site.set(
      '/d9.xml',
      xml(
        `<urlset><url><loc>${o}/p1</loc></url><url><loc>${o}/bad&#x110000;</loc></url><url><loc>${o}/p2</loc></url></urlset>`,
      ),
    );
    const res = await addJson(t, chatbotId, { type: 'sitemap', url: `${o}/d9.xml` });
    const created = await res.json();
    const health = await healthWhileDraining(t, server.url);
    expect(health.slowestMs).toBeLessThan(1_000);
    expect(await getSourceJson(t, chatbotId, created.id)).toMatchObject({
      status: 'ready',
      progress: { done: 2, total: 2 },
    });
    expect(site.hits.some((h) => h.startsWith('/bad'))).toBe(false);
  });
});
