// The compiled binary reads PDF (unpdf) and DOCX (mammoth) uploads and crawls a local sitemap.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDocx } from '../helpers/docx.ts';
import { makePdf } from '../helpers/pdf.ts';
import { buildBinaryOnce, type RunningBinary, runCli, startBinary } from '../helpers/process.ts';
import { html, type LocalSite, startSite, urlset } from '../helpers/site.ts';

let bin: RunningBinary;
let site: LocalSite;
let token: string;

beforeAll(async () => {
  site = startSite({
    '/faq': html('<main><h1>FAQ</h1><p>The zeppelin departs at noon.</p></main>', 'FAQ'),
  });
  site.set('/sitemap.xml', urlset([`${site.origin}/faq`]));
  bin = await startBinary({
    env: { EMBEDDING_PROVIDER: 'none', ALLOW_PRIVATE_URLS: 'true', CRAWL_DELAY_MS: '0' },
    readyTimeoutMs: 60_000,
  });
  token = await bin.adminToken();
}, 600_000);
afterAll(async () => {
  site?.stop();
  await bin?.stop();
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${bin.url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  });

async function untilSettled(chatbotId: string, sourceId: string) {
  // Polls the running process (no drain() across processes), bounded.
  for (let i = 0; i < 400; i++) {
    const source = await (await api(`/chatbots/${chatbotId}/sources/${sourceId}`)).json();
    if (source.status === 'ready' || source.status === 'failed') return source;
    await Bun.sleep(50);
  }
  throw new Error(`source ${sourceId} did not settle:\n${bin.logs()}`);
}

describe('ingestion in the compiled binary', () => {
  it('should index an uploaded PDF and DOCX and a sitemap, found through search', async () => {
    const chatbot = await (
      await api('/chatbots', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'binary' }),
      })
    ).json();
    const uploads: [string, Uint8Array<ArrayBuffer>, string][] = [
      [
        'manual.pdf',
        makePdf([['Harbour manual', 'Moor the ketch at pier seventeen.']]),
        'ketch pier seventeen',
      ],
      [
        'guide.docx',
        makeDocx([
          { heading: 1, text: 'Lighthouse guide' },
          { text: 'The lamp is polished every Thursday.' },
        ]),
        'lamp polished thursday',
      ],
    ];
    for (const [name, bytes, query] of uploads) {
      const form = new FormData();
      form.append('file', new File([bytes], name));
      const res = await api(`/chatbots/${chatbot.id}/sources`, { method: 'POST', body: form });
      expect(res.status).toBe(202);
      const source = await untilSettled(chatbot.id, (await res.json()).id);
      expect(source.error).toBeNull();
      expect(source.status).toBe('ready');
      const hits = (
        await (
          await api(`/chatbots/${chatbot.id}/search`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query }),
          })
        ).json()
      ).hits;
      expect(hits[0]?.sourceId).toBe(source.id);
    }
    const crawl = await api(`/chatbots/${chatbot.id}/sources`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'sitemap', url: `${site.origin}/sitemap.xml` }),
    });
    const crawled = await untilSettled(chatbot.id, (await crawl.json()).id);
    expect(crawled).toMatchObject({ status: 'ready', progress: { done: 1, total: 1 } });
  }, 120_000);

  it('should send `answerdesk ingest` to the running binary through its admin API', async () => {
    const chatbot = await (
      await api('/chatbots', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'cli' }),
      })
    ).json();
    const dir = mkdtempSync(join(tmpdir(), 'answerdesk-cli-file-'));
    try {
      writeFileSync(
        join(dir, 'rules.pdf'),
        makePdf([['Harbour rules', 'No swimming near the crane.']]),
      );
      const { stdout, stderr, code } = await runCli(
        ['ingest', chatbot.id, join(dir, 'rules.pdf')],
        {
          command: [await buildBinaryOnce()],
          cwd: dir,
          env: { DATA_DIR: bin.dataDir },
        },
      );
      expect(stderr).toBe('');
      expect(stdout).toContain('sending to the running service');
      expect(stdout).toContain('1/1 sources ready');
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
