import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createChatbot as createChatbotRow } from '../../src/chatbots/service.ts';
import { loadConfig } from '../../src/config.ts';
import { Progress, parseIngestArgs } from '../../src/sources/cli.ts';
import { listSources } from '../../src/sources/service.ts';
import { readServiceMarker, writeServiceMarker } from '../../src/sources/service-marker.ts';
import { openDatabase } from '../../src/storage/sqlite/db.ts';
import { ADMIN_TOKEN, tempDir } from '../helpers/app.ts';
import { makeDocx } from '../helpers/docx.ts';
import { makePdf } from '../helpers/pdf.ts';
import { FROM_SOURCE, runCli } from '../helpers/process.ts';
import { html, type LocalSite, startSite, urlset } from '../helpers/site.ts';
import { buildIngestApp, createChatbot } from '../helpers/sources.ts';

// Each CLI run is a new process that opens SQLite and LanceDB: generous timeouts for a busy machine.

/** `answerdesk ingest …` from source, to its exit. */
const ingest = (args: string[], env: Record<string, string>) =>
  runCli(['ingest', ...args], { command: FROM_SOURCE, env: { LOG_LEVEL: 'silent', ...env } });

let docs: ReturnType<typeof tempDir>;
let site: LocalSite;
beforeAll(() => {
  docs = tempDir('answerdesk-cli-docs-');
  mkdirSync(join(docs.dir, 'sub'));
  writeFileSync(
    join(docs.dir, 'manual.pdf'),
    makePdf([['Pump manual', 'Descale the pump every ninety days.']]),
  );
  writeFileSync(
    join(docs.dir, 'sub', 'guide.docx'),
    makeDocx([{ heading: 1, text: 'Kettle' }, { text: 'Rinse monthly.' }]),
  );
  writeFileSync(join(docs.dir, 'notes.md'), '# Notes\n\nOpen on Sundays.');
  writeFileSync(join(docs.dir, 'logo.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
  site = startSite({
    '/a': html('<main><p>Alpha page.</p></main>', 'Alpha'),
    '/b': html('<main><p>Beta page.</p></main>', 'Beta'),
  });
  site.set('/sitemap.xml', urlset([`${site.origin}/a`, `${site.origin}/b`]));
});
afterAll(() => {
  site.stop();
  docs.cleanup();
});

describe('parseIngestArgs', () => {
  it('should read the options', () => {
    expect(
      parseIngestArgs(['cb', 'https://x.test/sitemap.xml', '--sitemap', '--max-pages', '20']),
    ).toEqual({
      chatbotId: 'cb',
      target: 'https://x.test/sitemap.xml',
      sitemap: true,
      maxPages: 20,
    });
    expect(parseIngestArgs(['cb', './docs', '--max-pages=5'])).toMatchObject({
      maxPages: 5,
      sitemap: false,
    });
  });

  it.each([
    [[]],
    [['cb']],
    [['cb', 'a', 'b']],
    [['cb', './docs', '--sitemap']],
    [['cb', 'https://x.test', '--max-pages', '0']],
    [['cb', 'https://x.test', '--max-pages', '1001']],
    [['cb', 'https://x.test', '--bogus']],
  ])('should refuse %j', (args) => {
    expect(typeof parseIngestArgs(args)).toBe('string');
  });
});

describe('Progress', () => {
  it('should redraw one bar on a terminal and print throttled lines otherwise', () => {
    const tty: string[] = [];
    const bar = new Progress(true, (s) => tty.push(s));
    bar.update('site', 1, 4, 'pages');
    bar.update('site', 2, 4, 'pages');
    expect(tty[1]).toStartWith('\r\x1b[2K[');
    expect(tty[1]).toContain('2/4 pages');
    const plain: string[] = [];
    const lines = new Progress(false, (s) => plain.push(s));
    lines.update('site', 1, 4, 'pages');
    lines.update('site', 2, 4, 'pages'); // within a second: skipped
    lines.update('site', 4, 4, 'pages'); // the last one always prints
    lines.update('f', 1, 3, 'files', true); // terminal-only
    expect(plain).toEqual(['progress site: 1/4 pages\n', 'progress site: 4/4 pages\n']);
  });
});

describe('answerdesk ingest (no service running)', () => {
  it('should ingest a directory into the data dir directly and exit 0', async () => {
    const data = tempDir();
    try {
      const config = loadConfig({ DATA_DIR: data.dir, LOG_LEVEL: 'silent' });
      const db = openDatabase(join(config.DATA_DIR, 'answerdesk.sqlite'));
      const chatbotId = createChatbotRow(db, { name: 'cli' }).id;
      db.close();
      const run = await ingest([chatbotId, docs.dir], { DATA_DIR: data.dir });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('skipped');
      expect(run.stdout).toContain('logo.png');
      expect(run.stdout).toContain('[3/3] ready   sub/guide.docx');
      expect(run.stdout).toContain('3/3 sources ready');

      const site2 = await ingest([chatbotId, `${site.origin}/sitemap.xml`, '--sitemap'], {
        DATA_DIR: data.dir,
        ALLOW_PRIVATE_URLS: 'true',
        CRAWL_DELAY_MS: '0',
      });
      expect(site2.code).toBe(0);
      expect(site2.stdout).toContain('progress');
      expect(site2.stdout).toContain('2/2 pages');

      const refused = await ingest([chatbotId, `${site.origin}/a`], { DATA_DIR: data.dir });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('loopback');

      const check = openDatabase(join(data.dir, 'answerdesk.sqlite'));
      const sources = listSources(check, chatbotId);
      check.close();
      expect(sources.filter((s) => s.status === 'ready')).toHaveLength(4);
    } finally {
      data.cleanup();
    }
  }, 180_000);

  it('should exit 2 with the usage for bad arguments', async () => {
    const data = tempDir();
    try {
      const bad = await ingest(['only-one-argument'], { DATA_DIR: data.dir });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('usage: answerdesk ingest');
    } finally {
      data.cleanup();
    }
  }, 180_000);

  it('should exit 1 with a message for an unknown chatbot or path', async () => {
    const data = tempDir();
    try {
      const unknown = await ingest(['cb_nope', join(docs.dir, 'notes.md')], { DATA_DIR: data.dir });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('Chatbot not found');
      const missing = await ingest(['cb_nope', join(docs.dir, 'missing.md')], {
        DATA_DIR: data.dir,
      });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no such file');
    } finally {
      data.cleanup();
    }
  }, 180_000);
});

describe('answerdesk ingest (service running)', () => {
  it('should send the work to the running service through its admin API', async () => {
    const t = await buildIngestApp();
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (r) => t.app.handle(r) });
    t.deps.worker.start();
    const unmark = writeServiceMarker(t.dir, `http://127.0.0.1:${server.port}`);
    try {
      expect(readServiceMarker(t.dir)?.pid).toBe(process.pid);
      const chatbotId = await createChatbot(t);
      const run = await ingest([chatbotId, docs.dir], { DATA_DIR: t.dir, ADMIN_TOKEN });
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain('sending to the running service');
      expect(run.code).toBe(0);
      const sources = listSources(t.deps.db, chatbotId);
      expect(sources.map((s) => s.status)).toEqual(['ready', 'ready', 'ready']);

      const wrongToken = await ingest([chatbotId, docs.dir], {
        DATA_DIR: t.dir,
        ADMIN_TOKEN: 'another-token-0123456789',
      });
      expect(wrongToken.code).toBe(1);
      expect(wrongToken.stderr).toContain('refused our admin token');
    } finally {
      unmark();
      expect(readServiceMarker(t.dir)).toBeNull();
      await t.deps.worker.stop();
      server.stop(true);
      await t.deps.knowledge.settle();
      t.deps.knowledge.close();
      await t.close();
    }
  }, 180_000);
});
