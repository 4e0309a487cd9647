// The compiled binary reads PDF (unpdf) and DOCX (mammoth) uploads and crawls a local sitemap.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('should read documents in its own extractor process while /healthz answers', async () => {
    const chatbot = await (
      await api('/chatbots', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'extractor' }),
      })
    ).json();
    const deep = `<html><head><title>Deep</title></head><body>${'<div>'.repeat(1_500)}<p>The ferry leaves at dawn.</p>${'</div>'.repeat(1_500)}</body></html>`;
    // A flat page tree of 300 pages: read through the pdf.js patch the build applies.
    const pages = Array.from({ length: 300 }, (_, i) => [`Harbour page ${i + 1}.`]);
    const ids: string[] = [];
    for (const [name, bytes] of [
      ['deep.html', deep],
      ['pages.pdf', makePdf(pages)],
    ] as const) {
      const form = new FormData();
      form.append('file', new File([bytes], name));
      ids.push(
        (
          await (
            await api(`/chatbots/${chatbot.id}/sources`, { method: 'POST', body: form })
          ).json()
        ).id,
      );
    }
    let slowestMs = 0;
    let sawExtractor = false;
    const settled = [];
    for (const id of ids) {
      for (let i = 0; i < 400; i++) {
        const started = performance.now();
        expect((await fetch(`${bin.url}/healthz`)).status).toBe(200);
        slowestMs = Math.max(slowestMs, performance.now() - started);
        sawExtractor ||= childCommands(bin.pid).some((cmd) => cmd.includes('__extract'));
        const source = await (await api(`/chatbots/${chatbot.id}/sources/${id}`)).json();
        if (source.status === 'ready' || source.status === 'failed') {
          settled.push(source);
          break;
        }
        await Bun.sleep(25); // polling interval across processes, not a wait for work
      }
    }
    expect(settled.map((s) => [s.status, s.error])).toEqual([
      ['ready', null],
      ['ready', null],
    ]);
    expect(sawExtractor).toBe(true);
    expect(slowestMs).toBeLessThan(1_000);
  }, 60_000);
});

/** Command lines of a process's children (Linux /proc). */
function childCommands(pid: number): string[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
    return children
      .split(/\s+/)
      .filter(Boolean)
      .map((child) => readFileSync(`/proc/${child}/cmdline`, 'latin1').replaceAll('\0', ' '));
  } catch {
    return [];
  }
}
