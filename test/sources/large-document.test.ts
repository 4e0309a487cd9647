// A document near the text cap (20 million characters) goes from upload to chunks without
// holding request handling: the real server answers /healthz within 1 s throughout.
import { afterAll, beforeAll, expect, it, setDefaultTimeout } from 'bun:test';
import { MAX_TEXT_CHARS } from '../../src/ingest/files.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { ADMIN_TOKEN, type TestApp } from '../helpers/app.ts';
import {
  buildIngestApp,
  createChatbot,
  getSourceJson,
  healthWhile,
  healthWhileDraining,
  searchHits,
  sourcesPath,
} from '../helpers/sources.ts';

// Tens of seconds on a busy 2-core machine (reading, chunking and indexing 20 M characters);
// the 1 s bound on /healthz is the assertion.
setDefaultTimeout(120_000);

let t: TestApp;
let server: RunningServer;
beforeAll(async () => {
  t = await buildIngestApp({ PORT: '0', HOST: '127.0.0.1' });
  server = startServer(t.deps, t.app);
});
afterAll(async () => {
  await server.stop('test');
  await t.close();
});

/** A Markdown manual of about `chars` characters: sections of short paragraphs. */
function manual(chars: number): string {
  const parts: string[] = [];
  let length = 0;
  for (let section = 0; length < chars; section++) {
    const text = `## Part ${section}\n\n${`The pump in part ${section} is rinsed with warm water before it is stored. `.repeat(12)}\n\n`;
    parts.push(text);
    length += text.length;
  }
  parts.push('## Last part\n\nThe zeppelin valve is greased once a year.\n');
  return parts.join('');
}

it('should index a document near the text cap while /healthz answers within 1 s', async () => {
  const chatbotId = await createChatbot(t);
  const text = manual(MAX_TEXT_CHARS - 500_000);
  const form = new FormData();
  form.append('file', new File([text], 'manual.md'));
  // The upload goes to the real server too: receiving and keeping 20 MB is timed as well.
  const upload = fetch(`${server.url}${sourcesPath(chatbotId)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: form,
  });
  const received = await healthWhile(server.url, upload);
  const res = await upload;
  expect(res.status).toBe(202);
  const created = await res.json();
  const indexed = await healthWhileDraining(t, server.url);
  expect(received.slowestMs).toBeLessThan(1_000);
  expect(indexed.slowestMs).toBeLessThan(1_000);
  const source = await getSourceJson(t, chatbotId, created.id);
  expect(source).toMatchObject({ status: 'ready', title: 'Part 0' });
  expect(source.chunkCount).toBeGreaterThan(5_000);
  const hits = await searchHits(t, chatbotId, 'zeppelin valve');
  expect(hits[0]).toMatchObject({ sourceId: created.id });
  expect(hits[0]?.text).toContain('greased once a year');
});
