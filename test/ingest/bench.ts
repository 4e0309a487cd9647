// Ingestion figures (printed, not asserted): crawl pages/s on a local site, PDF and DOCX pages/s.
// Run: bun run test/ingest/bench.ts
import { crawlSitemap } from '../../src/ingest/crawl.ts';
import { ExtractorPool } from '../../src/ingest/extractor.ts';
import { extractFile } from '../../src/ingest/files.ts';
import { createLogger } from '../../src/logging.ts';
import { makeDocx } from '../helpers/docx.ts';
import { makePdf } from '../helpers/pdf.ts';
import { html, startSite, urlset } from '../helpers/site.ts';

const words =
  'refund shipping warranty parcel invoice account password delivery order support'.split(' ');
const sentence = (i: number) =>
  `${Array.from({ length: 14 }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(' ')}.`;

async function crawlBench(pages: number, delayMs: number, concurrency: number) {
  const site = startSite();
  const urls = Array.from({ length: pages }, (_, i) => `${site.origin}/p${i}`);
  const chrome = `<header><nav>${Array.from({ length: 30 }, (_, i) => `<a href="/n${i}">Nav ${i}</a>`).join('')}</nav></header><div id="cookie-banner">Cookies <button>OK</button></div>`;
  for (const [i, u] of urls.entries()) {
    const body = Array.from(
      { length: 12 },
      (_, k) => `<h2>Section ${k}</h2><p>${sentence(i + k)} ${sentence(i * k)}</p>`,
    ).join('');
    site.set(
      new URL(u).pathname,
      html(`${chrome}<main><h1>Page ${i}</h1>${body}</main><footer>© 2026</footer>`, `Page ${i}`),
    );
  }
  site.set('/sitemap.xml', urlset(urls));
  // Pages are read in an extractor process, as in the service.
  const extractor = new ExtractorPool({
    timeoutMs: 60_000,
    memoryLimitBytes: 1024 * 1_048_576,
    concurrency: 1,
    log: createLogger('silent'),
  });
  const started = performance.now();
  const result = await crawlSitemap(
    `${site.origin}/sitemap.xml`,
    { maxPages: pages, delayMs, concurrency },
    { allowPrivate: true },
    extractor,
  );
  const s = (performance.now() - started) / 1000;
  extractor.close();
  site.stop();
  const bytes = result.pages.reduce((n, p) => n + p.chars, 0);
  console.log(
    `crawl ${pages} pages (delay ${delayMs} ms, concurrency ${concurrency}): ${s.toFixed(2)} s, ${(result.pages.length / s).toFixed(1)} pages/s, ${Math.round(bytes / result.pages.length)} chars of text/page`,
  );
}

async function pdfBench(pages: number) {
  const pdf = makePdf(
    Array.from({ length: pages }, (_, p) =>
      Array.from({ length: 40 }, (_, l) => sentence(p * 40 + l)),
    ),
  );
  const started = performance.now();
  const out = await extractFile('pdf', pdf, 'bench.pdf');
  const s = (performance.now() - started) / 1000;
  console.log(
    `pdf ${pages} pages (${(pdf.byteLength / 1024).toFixed(0)} KiB): ${s.toFixed(2)} s, ${(pages / s).toFixed(0)} pages/s, ${out.text.length} chars`,
  );
}

async function docxBench(paragraphs: number) {
  const docx = makeDocx(
    Array.from({ length: paragraphs }, (_, i) =>
      i % 10 === 0
        ? { heading: 2 as const, text: `Part ${i}` }
        : { text: `${sentence(i)} ${sentence(i + 1)}` },
    ),
  );
  const started = performance.now();
  const out = await extractFile('docx', docx, 'bench.docx');
  const s = (performance.now() - started) / 1000;
  // ~45 paragraphs of this size fill a printed page.
  console.log(
    `docx ${paragraphs} paragraphs (~${Math.round(paragraphs / 45)} pages): ${s.toFixed(2)} s, ${(paragraphs / 45 / s).toFixed(0)} pages/s, ${out.text.length} chars`,
  );
}

await crawlBench(20, 0, 2); // warm-up
await crawlBench(200, 0, 1);
await crawlBench(200, 0, 2);
await crawlBench(40, 250, 2);
await pdfBench(10); // warm-up
await pdfBench(200);
await docxBench(100); // warm-up
await docxBench(4500);
