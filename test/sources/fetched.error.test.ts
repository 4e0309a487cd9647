import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { TestApp } from '../helpers/app.ts';
import { makeDocx } from '../helpers/docx.ts';
import { makePdf } from '../helpers/pdf.ts';
import { html, type LocalSite, startSite, urlset } from '../helpers/site.ts';
import {
  addJson,
  buildIngestApp,
  createChatbot,
  getSourceJson,
  sourcesPath,
  upload,
} from '../helpers/sources.ts';

let t: TestApp;
let site: LocalSite;
let other: LocalSite;
let chatbotId: string;

beforeAll(async () => {
  t = await buildIngestApp({ UPLOAD_LIMIT_BYTES: '4096' });
  chatbotId = await createChatbot(t);
  other = startSite({ '/landing': html('<p>elsewhere</p>') });
  site = startSite({
    '/ok': html('<main><p>Fine page about cheese.</p></main>', 'Cheese'),
    '/html': html('<main><p>Just a page.</p></main>', 'Page'),
    // 127.0.0.1 → localhost is another host name, though the same machine.
    '/away': () =>
      new Response(null, {
        status: 302,
        headers: { location: `http://localhost:${other.port}/landing` },
      }),
    '/data.json': () => Response.json({ a: 1 }),
    '/pdf': () =>
      new Response(makePdf([['x']]), { headers: { 'content-type': 'application/pdf' } }),
    '/robots.txt': 'User-agent: *\nDisallow: /private\n',
    '/private/a': html('<p>secret</p>'),
  });
  site.set('/blocked-sitemap.xml', urlset([`${site.origin}/private/a`]));
});
afterAll(async () => {
  site.stop();
  other.stop();
  await t.deps.knowledge.settle();
  t.deps.knowledge.close();
  await t.close();
});

async function failedSource(res: Response) {
  expect(res.status).toBe(202);
  const created = await res.json();
  await t.deps.worker.drain();
  const source = await getSourceJson(t, chatbotId, created.id);
  expect(source.status).toBe('failed');
  expect(source.chunkCount).toBe(0);
  expect(await t.deps.knowledge.countChunks(chatbotId, created.id)).toBe(0);
  return source as { error: string; id: string };
}

describe('URL sources (errors)', () => {
  it('should refuse a private URL unless ALLOW_PRIVATE_URLS=true', async () => {
    const strict = await buildIngestApp({ ALLOW_PRIVATE_URLS: 'false' });
    try {
      const id = await createChatbot(strict);
      const before = site.hits.length;
      const created = await (
        await addJson(strict, id, { type: 'url', url: `${site.origin}/ok` })
      ).json();
      await strict.deps.worker.drain();
      const source = await getSourceJson(strict, id, created.id);
      expect(source.status).toBe('failed');
      expect(source.error).toContain('loopback');
      expect(source.error).toContain('ALLOW_PRIVATE_URLS');
      expect(site.hits.length).toBe(before);
    } finally {
      strict.deps.knowledge.close();
      await strict.close();
    }
  });

  it('should fail a redirect to another host', async () => {
    const source = await failedSource(
      await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/away` }),
    );
    expect(source.error).toContain('another host');
    expect(other.hits).toHaveLength(0);
  });

  it('should fail a non-HTML response with a clear reason', async () => {
    const json = await failedSource(
      await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/data.json` }),
    );
    expect(json.error).toContain('application/json, not an HTML page');
    const pdf = await failedSource(
      await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/pdf` }),
    );
    expect(pdf.error).toContain('application/pdf');
  });

  it('should fail a missing page and an unreachable host', async () => {
    const missing = await failedSource(
      await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/nope` }),
    );
    expect(missing.error).toContain('HTTP 404');
    const closed = startSite();
    closed.stop();
    const unreachable = await failedSource(
      await addJson(t, chatbotId, { type: 'url', url: `${closed.origin}/` }),
    );
    expect(unreachable.error).toContain('Could not connect');
  });

  it('should keep the old chunks when a refresh fails', async () => {
    const created = await (
      await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/ok` })
    ).json();
    await t.deps.worker.drain();
    expect((await getSourceJson(t, chatbotId, created.id)).chunkCount).toBe(1);
    site.set('/ok', () => new Response('gone', { status: 410 }));
    await t.request(`${sourcesPath(chatbotId)}/${created.id}/refresh`, { method: 'POST' });
    await t.deps.worker.drain();
    const source = await getSourceJson(t, chatbotId, created.id);
    expect(source).toMatchObject({ status: 'failed', chunkCount: 1 });
    expect(source.error).toContain('HTTP 410');
    expect(await t.deps.knowledge.countChunks(chatbotId, created.id)).toBe(1);
  });

  it.each([
    [{ type: 'url', url: 'ftp://example.com/a' }],
    [{ type: 'url', url: 'not a url' }],
    [{ type: 'url' }],
    [{ type: 'sitemap', url: 'https://example.com/sitemap.xml', maxPages: 1001 }],
    [{ type: 'sitemap', url: 'https://example.com/sitemap.xml', maxPages: 0 }],
    [{ type: 'url', url: 'https://example.com/', extra: true }],
    [{ type: 'file' }],
  ])('should answer 422 to %j', async (body) => {
    const res = await addJson(t, chatbotId, body);
    expect(res.status).toBe(422);
    expect((await res.json()).error.code).toBe('VALIDATION_FAILED');
  });

  it('should answer 404 for an unknown chatbot', async () => {
    const res = await addJson(t, 'cb_missing', { type: 'url', url: `${site.origin}/ok` });
    expect(res.status).toBe(404);
  });
});

describe('sitemap sources (errors)', () => {
  it('should fail when robots.txt disallows every page, without fetching them', async () => {
    const source = await failedSource(
      await addJson(t, chatbotId, { type: 'sitemap', url: `${site.origin}/blocked-sitemap.xml` }),
    );
    expect(source.error).toContain('robots.txt');
    expect(site.hits).not.toContain('/private/a');
  });

  it('should fail when the URL is not a sitemap', async () => {
    const source = await failedSource(
      await addJson(t, chatbotId, { type: 'sitemap', url: `${site.origin}/html` }),
    );
    expect(source.error).toContain('not a sitemap');
  });
});

describe('file sources (errors)', () => {
  it('should answer 415 to an unsupported type and store nothing', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    const res = await upload(t, chatbotId, 'logo.png', png);
    expect(res.status).toBe(415);
    const body = await res.json();
    expect(body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(body.error.message).toContain('PNG');
    const csv = await upload(t, chatbotId, 'data.csv', 'a,b');
    expect(csv.status).toBe(415);
    const list = await (await t.request(sourcesPath(chatbotId))).json();
    expect(list.items.filter((s: { title: string }) => s.title === 'logo.png')).toHaveLength(0);
  });

  it('should answer 413 to a file over UPLOAD_LIMIT_BYTES', async () => {
    const res = await upload(t, chatbotId, 'big.txt', 'x'.repeat(5000));
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
    const huge = await upload(t, chatbotId, 'huge.txt', 'x'.repeat(200_000));
    expect(huge.status).toBe(413);
  });

  it('should fail a corrupt PDF with a clear reason and no chunks', async () => {
    const source = await failedSource(
      await upload(t, chatbotId, 'broken.pdf', '%PDF-1.7\n1 0 obj <<< broken\n%%EOF'),
    );
    expect(source.error).toStartWith('The PDF could not be read');
  });

  it('should fail a corrupt DOCX with a clear reason and no chunks', async () => {
    const docx = makeDocx([{ text: 'hello' }]);
    const source = await failedSource(
      await upload(t, chatbotId, 'broken.docx', docx.slice(0, docx.length - 30)),
    );
    expect(source.error).toStartWith('The Word document could not be read');
  });

  it('should answer 422 to a multipart body without a file', async () => {
    const form = new FormData();
    form.append('title', 'no file');
    const res = await t.request(sourcesPath(chatbotId), { method: 'POST', body: form });
    expect(res.status).toBe(422);
  });
});
