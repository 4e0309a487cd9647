// The extractor process's bounds: a page over the time or memory limit fails its source with the
// reason in plain words, and the version indexed before stays searchable.
import { afterEach, describe, expect, it, setDefaultTimeout } from 'bun:test';
import type { TestApp } from '../helpers/app.ts';
import { html, type LocalSite, startSite } from '../helpers/site.ts';
import {
  addJson,
  buildIngestApp,
  createChatbot,
  getSourceJson,
  searchHits,
  sourcesPath,
} from '../helpers/sources.ts';

// Reading the heavy page takes seconds; the bounds below stop it well before.
setDefaultTimeout(30_000);

let t: TestApp | undefined;
let site: LocalSite | undefined;
afterEach(async () => {
  site?.stop();
  await t?.close();
  t = undefined;
  site = undefined;
});

/** ~4.5 MB of link-heavy nested blocks: seconds and hundreds of MiB to read. */
const heavyPage = () =>
  html(
    `${'<div class="menu">'.repeat(200)}<a href="/x">link</a> text here${'</div>'.repeat(200)}`.repeat(
      1_000,
    ),
    'Heavy',
  );

describe('extractor process bounds', () => {
  it.each([
    [
      { EXTRACT_TIMEOUT_MS: '500' },
      'Reading the document took longer than 0.5 s (EXTRACT_TIMEOUT_MS); it was stopped',
    ],
    [
      { EXTRACT_MEMORY_LIMIT_MB: '200' },
      'Reading the document needed more than 200 MiB of memory (EXTRACT_MEMORY_LIMIT_MB); it was stopped',
    ],
  ])('should fail a page over %j and keep the previous version searchable', async (env, reason) => {
    t = await buildIngestApp(env);
    const chatbotId = await createChatbot(t);
    site = startSite({
      '/faq': html('<main><h1>FAQ</h1><p>Orders ship from Lisbon on weekdays.</p></main>', 'FAQ'),
    });
    const created = await (
      await addJson(t, chatbotId, { type: 'url', url: `${site.origin}/faq` })
    ).json();
    await t.deps.worker.drain();
    expect(await getSourceJson(t, chatbotId, created.id)).toMatchObject({ status: 'ready' });

    site.set('/faq', heavyPage());
    await t.request(`${sourcesPath(chatbotId)}/${created.id}/refresh`, { method: 'POST' });
    await t.deps.worker.drain();
    expect(await getSourceJson(t, chatbotId, created.id)).toMatchObject({
      status: 'failed',
      error: reason,
      chunkCount: 1,
    });
    const hits = await searchHits(t, chatbotId, 'ship from Lisbon');
    expect(hits[0]).toMatchObject({ sourceId: created.id });
    expect(hits[0]?.text).toContain('Lisbon on weekdays');
  });
});
