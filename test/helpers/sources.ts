// Builders for source route tests: a test app allowed to crawl 127.0.0.1, uploads, polling.
import type { PageExtractor } from '../../src/ingest/crawl.ts';
import { extractHtml } from '../../src/ingest/html.ts';
import { buildTestApp, type TestApp } from './app.ts';
import type { ProbeResult } from './health-probe-worker.ts';

/**
 * Reads crawled pages in the test's own process (crawl logic tests; the app uses processes), the
 * whole text as one passage.
 */
export const inProcessPages: PageExtractor = {
  html: async (html, fallbackTitle) => {
    const { title, text } = extractHtml(html, fallbackTitle);
    return {
      title,
      format: 'markdown',
      chars: text.trim().length,
      textSha256: new Bun.CryptoHasher('sha256').update(text).digest('hex'),
      passages: [{ headingPath: [], text }],
    };
  },
};

/** A test app whose URL sources may reach local servers, with no politeness delay. */
export function buildIngestApp(env: Record<string, string> = {}) {
  return buildTestApp({
    EMBEDDING_PROVIDER: 'none',
    ALLOW_PRIVATE_URLS: 'true',
    CRAWL_DELAY_MS: '0',
    ...env,
  });
}

export async function createChatbot(t: TestApp, name = 'KB'): Promise<string> {
  const res = await t.request('/api/v1/chatbots', { method: 'POST', json: { name } });
  return (await res.json()).id;
}

export const sourcesPath = (chatbotId: string) => `/api/v1/chatbots/${chatbotId}/sources`;

export function addJson(t: TestApp, chatbotId: string, json: unknown, auth?: string | false) {
  return t.request(sourcesPath(chatbotId), { method: 'POST', json, auth });
}

export function upload(
  t: TestApp,
  chatbotId: string,
  name: string,
  bytes: Uint8Array | string,
  fields: Record<string, string> = {},
  auth?: string | false,
) {
  const form = new FormData();
  form.append('file', new File([bytes as BlobPart], name));
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return t.request(sourcesPath(chatbotId), { method: 'POST', body: form, auth });
}

export async function getSourceJson(t: TestApp, chatbotId: string, sourceId: string) {
  return (await t.request(`${sourcesPath(chatbotId)}/${sourceId}`)).json();
}

export async function searchHits(t: TestApp, chatbotId: string, query: string) {
  const res = await t.request(`/api/v1/chatbots/${chatbotId}/search`, {
    method: 'POST',
    json: { query, limit: 20 },
  });
  return (await res.json()).hits as {
    sourceId: string;
    title: string;
    url: string | null;
    text: string;
  }[];
}

/**
 * The fields of a source (docs/notes/contract.md), sorted: exactly these on text and Q&A sources;
 * sitemap sources add `progress`, fetched ones `lastTestRun`, url and sitemap ones
 * `refreshIntervalHours` (SCHEDULED_SOURCE_FIELDS).
 */
export const SOURCE_FIELDS = [
  'chunkCount',
  'createdAt',
  'error',
  'externalId',
  'id',
  'status',
  'title',
  'type',
  'updatedAt',
  'url',
];

/** The fields of a url source, sorted: the contract's and the schedule's. */
export const SCHEDULED_SOURCE_FIELDS = [
  ...SOURCE_FIELDS,
  'lastTestRun',
  'refreshIntervalHours',
].sort();

/**
 * Times GET /healthz on the real server every ~20 ms, from another thread (health-probe-worker.ts),
 * until `work` settles; returns the slowest answer in ms and how many were timed (at least one).
 */
export async function healthWhile(
  serverUrl: string,
  work: Promise<unknown>,
): Promise<{ slowestMs: number; samples: number }> {
  const probe = new Worker(new URL('./health-probe-worker.ts', import.meta.url));
  const result = new Promise<ProbeResult>((resolve) => {
    probe.onmessage = (event) => resolve(event.data);
  });
  probe.postMessage({ url: serverUrl });
  try {
    await work;
  } finally {
    probe.postMessage('stop');
  }
  const { failure, ...timing } = await result;
  probe.terminate();
  if (failure) throw new Error(failure);
  return timing;
}

/** `healthWhile` the worker runs until it is idle. */
export const healthWhileDraining = (t: TestApp, serverUrl: string) =>
  healthWhile(serverUrl, t.deps.worker.drain());
