import { expect, it } from 'bun:test';
import { html, startSite, urlset } from '../helpers/site.ts';
import { addJson, buildIngestApp, createChatbot, getSourceJson } from '../helpers/sources.ts';

it('should interrupt a running crawl at shutdown and leave its job to resume', async () => {
  const t = await buildIngestApp();
  let reached!: () => void;
  const reachedPage = new Promise<void>((r) => {
    reached = r;
  });
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const site = startSite({
    '/slow': async () => {
      reached();
      await gate;
      return html('<main><p>late</p></main>');
    },
  });
  site.set('/sitemap.xml', urlset([`${site.origin}/slow`]));
  try {
    const chatbotId = await createChatbot(t);
    const created = await (
      await addJson(t, chatbotId, { type: 'sitemap', url: `${site.origin}/sitemap.xml` })
    ).json();
    t.deps.worker.start();
    await reachedPage;
    // The stop hooks in shutdown order (last registered first), as startServer runs them.
    for (const hook of [...t.deps.onShutdown].reverse()) await hook();
    expect(t.deps.worker.stats()).toMatchObject({ running: 0, pending: 1, failed: 0 });
    const source = await getSourceJson(t, chatbotId, created.id);
    expect(source.status).toBe('indexing');
    expect(source.error).toBeNull();
  } finally {
    release();
    site.stop();
    await t.close();
  }
});
