// Text and Q&A sources and a full disk: an add that cannot be recorded is rolled back and
// answered with an error; no source is ever left `indexing`.
import { afterEach, describe, expect, it } from 'bun:test';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { buildDeps } from '../../src/deps.ts';
import { createLogger } from '../../src/logging.ts';
import { INTERRUPTED_ERROR } from '../../src/sources/inline.ts';
import { createSourceRecord } from '../../src/sources/service.ts';
import { ADMIN_TOKEN, buildTestApp, type TestApp, tempDir } from '../helpers/app.ts';
import { fillDisk } from '../helpers/disk-full.ts';
import { FakeEmbedder } from '../knowledge/fake-embedder.ts';

const open: TestApp[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) {
    await t.deps.knowledge.settle();
    await t.close();
  }
});

async function appWithChatbot() {
  const embedder = new FakeEmbedder(16);
  const t = await buildTestApp({}, { embedder });
  open.push(t);
  const res = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'KB' } });
  const chatbotId = (await res.json()).id as string;
  const addSource = (json: unknown) =>
    t.request(`/api/v1/chatbots/${chatbotId}/sources`, { method: 'POST', json });
  const listSources = async () =>
    (await (await t.request(`/api/v1/chatbots/${chatbotId}/sources`)).json()).items as {
      status: string;
      error: string | null;
    }[];
  return { t, embedder, chatbotId, addSource, listSources };
}

/** A help-centre article longer than one SQLite page (its row spans overflow pages). */
const ARTICLE = `# Refunds\n\n${'Refunds reach your card within five business days. '.repeat(120)}`;

describe('text sources with a full disk', () => {
  it('should answer 503 and keep nothing when the disk fills while a text source is indexed', async () => {
    const { t, embedder, chatbotId, addSource, listSources } = await appWithChatbot();
    let free = () => {};
    // The row is written, then the disk fills while the text is embedded: the chunks reach the
    // index, but the source's status can no longer be recorded.
    embedder.onEmbed = () => {
      free = fillDisk(t.deps.db);
    };
    const res = await addSource({ type: 'text', title: 'Refunds', text: ARTICLE });
    embedder.onEmbed = null;
    expect(res.status).toBe(503);
    const { error } = await res.json();
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.message).toBe('disk full: cannot write; the source was not added');
    expect(await listSources()).toEqual([]);
    expect(await t.deps.knowledge.countChunks(chatbotId)).toBe(0);
    expect((await t.request('/readyz', { auth: false })).status).toBe(503);

    free();
    expect((await t.request('/readyz', { auth: false })).status).toBe(200);
    const again = await addSource({ type: 'text', title: 'Refunds', text: ARTICLE });
    expect(again.status).toBe(201);
    expect((await again.json()).status).toBe('ready');
  });

  it('should answer 503 and write nothing when the disk is full before the source is recorded', async () => {
    const { t, addSource, listSources } = await appWithChatbot();
    const free = fillDisk(t.deps.db);
    const res = await addSource({ type: 'qa', question: 'Refunds?', answer: ARTICLE });
    expect(res.status).toBe(503);
    expect((await res.json()).error.message).toStartWith('disk full: cannot write');
    free();
    expect(await listSources()).toEqual([]);
  });

  it('should mark a text source left indexing failed once writes pass again', async () => {
    const { t, chatbotId, listSources } = await appWithChatbot();
    // As if the disk had refused even the rollback of a failed add.
    createSourceRecord(t.deps, chatbotId, { type: 'text', title: 'Stuck', status: 'indexing' });
    const free = fillDisk(t.deps.db);
    expect((await t.request('/readyz', { auth: false })).status).toBe(503);
    free();
    expect((await t.request('/readyz', { auth: false })).status).toBe(200);
    expect(await listSources()).toMatchObject([{ status: 'failed', error: INTERRUPTED_ERROR }]);
  });

  it('should mark text sources a crash left indexing failed at start, and leave fetched ones to their jobs', async () => {
    const dir = tempDir();
    try {
      const config = loadConfig({
        DATA_DIR: dir.dir,
        ADMIN_TOKEN,
        SECRET_KEY: 'test-secret-key-0123456789abcdef',
        LOG_LEVEL: 'silent',
      });
      const start = async () => {
        const deps = await buildDeps(config, createLogger('silent'), { embedder: null });
        return { deps, app: createApp(deps) };
      };
      const first = await start();
      const chatbotId = (
        await (
          await first.app.handle(
            new Request('http://localhost/api/v1/chatbots', {
              method: 'POST',
              headers: {
                authorization: `Bearer ${ADMIN_TOKEN}`,
                'content-type': 'application/json',
              },
              body: JSON.stringify({ name: 'KB' }),
            }),
          )
        ).json()
      ).id as string;
      const text = createSourceRecord(first.deps, chatbotId, {
        type: 'text',
        title: 'Mid-request',
        status: 'indexing',
      });
      const url = createSourceRecord(first.deps, chatbotId, {
        type: 'url',
        title: 'https://shop.test/',
        status: 'indexing',
      });
      first.deps.knowledge.close();
      first.deps.lance.close();
      first.deps.db.close();

      const second = await start();
      const status = (id: string) =>
        second.deps.db
          .query<{ status: string; error: string | null }, [string]>(
            'SELECT status, error FROM sources WHERE id = ?',
          )
          .get(id);
      expect(status(text.id)).toEqual({ status: 'failed', error: INTERRUPTED_ERROR });
      expect(status(url.id)?.status).toBe('indexing');
      second.deps.knowledge.close();
      second.deps.lance.close();
      second.deps.db.close();
    } finally {
      dir.cleanup();
    }
  });
});
