// Hybrid search by default: the model pulled at start from a local fake hub (the tiny generated
// model under the catalog's names), re-embedding and the switch to hybrid search over a real
// socket, retries while the hub is down, refusal of bad bytes, and the two ways to turn it off.
import { afterAll, afterEach, describe, expect, it } from 'bun:test';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  AUTO_PULL_RETRY_MAX_MS,
  autoPullModelFor,
  retryDelayMs,
} from '../../src/models/auto-pull.ts';
import type { CatalogModel } from '../../src/models/catalog.ts';
import { pullModel } from '../../src/models/pull.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { adminRequest } from '../helpers/admin-request.ts';
import { ADMIN_TOKEN, buildTestApp, type TestApp, tempDir } from '../helpers/app.ts';
import { type FakeHub, startFakeHub } from '../helpers/fake-embeddings-hub.ts';
import { FROM_SOURCE, startBinary } from '../helpers/process.ts';

const ENGLISH = 'bge-small-en-v1.5';
const MULTILINGUAL = 'multilingual-e5-small';

const hubs: FakeHub[] = [];
const hub = (port?: number) => {
  const started = startFakeHub({ dimension: 32, port });
  hubs.push(started);
  return started;
};
afterAll(() => {
  for (const h of hubs) h.stop();
});

/** The catalog's two names, both served by `h` (the tiny model). */
const catalogOf = (h: FakeHub): CatalogModel[] => [
  h.catalogEntry(ENGLISH),
  h.catalogEntry(MULTILINGUAL),
];

let running: { t: TestApp; server: RunningServer } | undefined;
/** Stops the served app: stop() runs the stop hooks (the auto-pull's too) and closes storage. */
async function stopServed() {
  if (!running) return;
  await running.server.stop('test');
  rmSync(running.t.dir, { recursive: true, force: true });
  running = undefined;
}
afterEach(stopServed);

/** The real app on a real socket, its auto-pull fed by `h` (not started). */
async function serveWith(h: FakeHub, env: Record<string, string> = {}, random = () => 0.5) {
  const t = await buildTestApp(
    { MODEL_HUB_URL: h.baseUrl, HOST: '127.0.0.1', PORT: '0', ...env },
    { autoPull: { catalog: catalogOf(h), random } },
  );
  const server = startServer(t.deps, t.app);
  running = { t, server };
  const api = (path: string, json?: unknown) =>
    adminRequest(server.url, ADMIN_TOKEN, path, json === undefined ? {} : { method: 'POST', json });
  const chatbotWithText = async (language: string | null = 'en') => {
    const bot = await api('/api/v1/chatbots', { name: 'Shop', language: { knowledge: language } });
    expect(bot.status).toBe(201);
    const source = await api(`/api/v1/chatbots/${bot.body.id}/sources`, {
      type: 'text',
      title: 'Refunds',
      text: 'Refunds are paid back to your card within five days of the return.',
    });
    expect(source.status).toBe(201);
    return bot.body.id as string;
  };
  const search = async (chatbotId: string) =>
    (await api(`/api/v1/chatbots/${chatbotId}/search?explain=true`, { query: 'refund card' })).body
      .hits;
  return { t, api, chatbotWithText, search, modelsDir: join(t.dir, 'models') };
}

describe('model auto-pull (choice and backoff)', () => {
  it('should choose the English model only when every knowledge language is English', () => {
    expect(autoPullModelFor([])).toBe(ENGLISH);
    expect(autoPullModelFor(['en', 'en-GB', 'en-us'])).toBe(ENGLISH);
    expect(autoPullModelFor(['en', 'fr'])).toBe(MULTILINGUAL);
    expect(autoPullModelFor(['en', null])).toBe(MULTILINGUAL);
    expect(autoPullModelFor(['eng'])).toBe(MULTILINGUAL);
    // A catalog without a multilingual model falls back to the default one.
    expect(autoPullModelFor(['de'], [hub().catalogEntry(ENGLISH)])).toBe(ENGLISH);
  });

  it('should double the retry delay up to the cap and jitter at most half of it', () => {
    expect(retryDelayMs(1, () => 0)).toBe(15_000);
    expect(retryDelayMs(1, () => 1)).toBe(30_000);
    expect(retryDelayMs(2, () => 1)).toBe(60_000);
    expect(retryDelayMs(3, () => 0.5)).toBe(90_000);
    expect(retryDelayMs(40, () => 1)).toBe(AUTO_PULL_RETRY_MAX_MS);
    expect(retryDelayMs(40, () => 0)).toBe(AUTO_PULL_RETRY_MAX_MS / 2);
  });
});

describe('model auto-pull (served, fake hub)', () => {
  it('should pull the default model, re-embed existing chunks and switch to hybrid without a restart', async () => {
    const h = hub();
    const { t, api, chatbotWithText, search, modelsDir } = await serveWith(h);
    const chatbotId = await chatbotWithText('en');
    const before = await api('/readyz');
    expect(before.body).toMatchObject({ retrieval: 'fulltext', embedding: 'none' });
    expect((await search(chatbotId))[0].explain.vector).toBeNull();

    t.deps.modelAutoPull.start();
    await t.deps.modelAutoPull.settle();

    const after = await api('/readyz');
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      retrieval: 'hybrid',
      embedding: 'local',
      modelPull: { state: 'done', model: ENGLISH, reason: null, attempts: 1 },
    });
    expect(after.body.warnings.join(' ')).not.toContain('full-text');
    expect(existsSync(join(modelsDir, ENGLISH, 'answerdesk-model.json'))).toBe(true);
    // The chunk stored before the switch was re-embedded: the vector leg finds it now.
    const [hit] = await search(chatbotId);
    expect(hit.explain.vector).toMatchObject({ rank: 1 });
    expect(t.deps.knowledge.indexedSpace).toBe(`local:${ENGLISH}:32`);
  });

  it('should pull the multilingual model when a chatbot’s knowledge is not English', async () => {
    const h = hub();
    const { t, chatbotWithText, search, modelsDir } = await serveWith(h);
    const chatbotId = await chatbotWithText('fr');
    t.deps.modelAutoPull.start();
    await t.deps.modelAutoPull.settle();
    expect(t.deps.modelAutoPull.status()).toMatchObject({ state: 'done', model: MULTILINGUAL });
    expect(existsSync(join(modelsDir, MULTILINGUAL))).toBe(true);
    expect(existsSync(join(modelsDir, ENGLISH))).toBe(false);
    expect((await search(chatbotId))[0].explain.vector).toMatchObject({ rank: 1 });
  });

  it('should serve full-text while the hub is unreachable, say so on /readyz and recover on retry', async () => {
    const h = hub();
    const { t, api, chatbotWithText, search } = await serveWith(h, {}, () => 0.5);
    const chatbotId = await chatbotWithText('en');
    h.stop(); // connection refused from now on
    const at = new Date('2026-03-01T10:00:00.000Z');
    t.clock.pin(at);

    t.deps.modelAutoPull.start();
    await t.deps.modelAutoPull.settle();

    const down = await api('/readyz');
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({
      retrieval: 'fulltext',
      embedding: 'none',
      modelPull: {
        state: 'failed',
        model: ENGLISH,
        attempts: 1,
        // First retry: half of 30 s fixed, plus half of the other half (random pinned at 0.5).
        nextRetryAt: new Date(at.getTime() + 22_500).toISOString(),
      },
    });
    expect(down.body.modelPull.reason).toContain(h.baseUrl);
    expect(down.body.warnings.join(' ')).toContain('full-text only');
    expect(down.body.warnings.join(' ')).toContain(down.body.modelPull.nextRetryAt);
    // Search still answers, from the full-text leg.
    const [hit] = await search(chatbotId);
    expect(hit.explain).toMatchObject({ fts: { rank: 1 }, vector: null });

    // The hub is back where it was; the retry (triggered now, not waited for) succeeds.
    const back = hub(h.port);
    await t.deps.modelAutoPull.retryNow();
    expect(back.requests.length).toBeGreaterThan(0);
    const up = await api('/readyz');
    expect(up.body).toMatchObject({
      retrieval: 'hybrid',
      modelPull: { state: 'done', attempts: 2, reason: null, nextRetryAt: null },
    });
    expect((await search(chatbotId))[0].explain.vector).toMatchObject({ rank: 1 });
  });

  it('should refuse a model whose checksum does not match, install nothing and stay full-text', async () => {
    const h = hub();
    h.tamper('onnx/model.onnx');
    const { t, api, modelsDir } = await serveWith(h);
    t.deps.modelAutoPull.start();
    await t.deps.modelAutoPull.settle();
    const { body } = await api('/readyz');
    expect(body).toMatchObject({ retrieval: 'fulltext', modelPull: { state: 'failed' } });
    expect(body.modelPull.reason).toContain('does not match the pin');
    expect(existsSync(join(modelsDir, ENGLISH))).toBe(false);
    expect(t.deps.knowledge.embedder).toBeNull();
  });

  it('should re-embed at start when the model is installed but the index does not hold its vectors yet', async () => {
    // A first run stopped between the pull and the end of its re-embed: chunks without vectors,
    // and the model in DATA_DIR/models.
    const h = hub();
    const data = tempDir('answerdesk-autopull-');
    try {
      const first = await serveWith(h, { DATA_DIR: data.dir });
      await first.chatbotWithText('en');
      await stopServed();
      await pullModel({
        name: ENGLISH,
        modelsDir: join(data.dir, 'models'),
        baseUrl: h.baseUrl,
        catalog: catalogOf(h),
      });
      h.requests.length = 0;

      const { t, api } = await serveWith(h, { DATA_DIR: data.dir });
      expect(t.deps.knowledge.stale).toBe(true);
      t.deps.modelAutoPull.start();
      await t.deps.modelAutoPull.settle();
      expect(h.requests).toEqual([]);
      expect((await api('/readyz')).body).toMatchObject({
        retrieval: 'hybrid',
        embedding: 'local',
        modelPull: { state: 'done', model: ENGLISH, attempts: 1 },
      });
      expect(await t.deps.knowledge.countChunks()).toBe(1);
    } finally {
      await stopServed();
      data.cleanup();
    }
  });

  it('should give /readyz (public) a fixed phrase when loading fails, never the error itself (local paths)', async () => {
    const h = hub();
    // A mirror with no pins (trust on first use) serving damaged weights: the pull succeeds and
    // loading the model throws an error that names the data directory.
    const onnx = Object.keys(h.files).find((path) => path.endsWith('.onnx'))!;
    h.tamper(onnx);
    const t = await buildTestApp(
      { MODEL_HUB_URL: h.baseUrl },
      { autoPull: { catalog: [h.catalogEntry(ENGLISH, true)], random: () => 0.5 } },
    );
    try {
      t.deps.modelAutoPull.start();
      await t.deps.modelAutoPull.settle();
      const status = t.deps.modelAutoPull.status();
      expect(status.state).toBe('failed');
      expect(status.reason).toBe(
        'the model could not be loaded or the chunks re-embedded (the log says why)',
      );
      expect(JSON.stringify(status)).not.toContain(t.dir);
    } finally {
      await t.close();
    }
  });

  it('should never contact the hub when MODEL_AUTO_PULL=false', async () => {
    const h = hub();
    const { t, api } = await serveWith(h, { MODEL_AUTO_PULL: 'false' });
    t.deps.modelAutoPull.start();
    await t.deps.modelAutoPull.settle();
    expect(h.requests).toEqual([]);
    const { body } = await api('/readyz');
    expect(body).toMatchObject({
      retrieval: 'fulltext',
      modelPull: { state: 'off', reason: 'MODEL_AUTO_PULL=false', attempts: 0 },
    });
    expect(body.warnings.join(' ')).toContain('EMBEDDING_PROVIDER is none');
  });

  it('should never pull when EMBEDDING_PROVIDER is set, even to none', async () => {
    const h = hub();
    const { t, api } = await serveWith(h, { EMBEDDING_PROVIDER: 'none' });
    t.deps.modelAutoPull.start();
    await t.deps.modelAutoPull.settle();
    expect(h.requests).toEqual([]);
    expect((await api('/readyz')).body.modelPull).toMatchObject({
      state: 'off',
      reason: 'EMBEDDING_PROVIDER=none is set',
    });
  });
});

describe('model auto-pull (the service process)', () => {
  it('should start pulling from MODEL_HUB_URL when the service starts with no model', async () => {
    const h = hub();
    const service = await startBinary({
      command: FROM_SOURCE,
      env: { MODEL_AUTO_PULL: 'true', MODEL_HUB_URL: h.baseUrl },
    });
    try {
      // The fake hub serves only its tiny model: the real catalog's files are not found there.
      await h.asked;
      expect(h.requests[0]).toStartWith(`/Xenova/${ENGLISH}/resolve/`);
      const body = await (await fetch(`${service.url}/readyz`)).json();
      expect(body.retrieval).toBe('fulltext');
      expect(body.modelPull.model).toBe(ENGLISH);
      expect(['pulling', 'failed']).toContain(body.modelPull.state);
    } finally {
      await service.stop();
    }
  });

  it('should not pull in a served child of the test helpers unless a test asks for it', async () => {
    const service = await startBinary({ command: FROM_SOURCE });
    try {
      const body = await (await fetch(`${service.url}/readyz`)).json();
      expect(body.modelPull).toMatchObject({ state: 'off', reason: 'MODEL_AUTO_PULL=false' });
    } finally {
      await service.stop();
    }
  });
});
