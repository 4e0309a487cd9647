// Scheduled re-sync of url and sitemap sources, driven with the pinned clock: when a refresh is
// due (interval and jitter), how many are queued at once, what an unchanged page writes (nothing),
// and the refreshIntervalHours field on create and PATCH.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { createTest } from '../../src/answer-tests/service.ts';
import {
  REFRESH_JITTER,
  REFRESHES_QUEUED_MAX,
  RefreshScheduler,
  refreshDueAt,
  refreshJitter,
} from '../../src/sources/schedule.ts';
import type { TestApp } from '../helpers/app.ts';
import { html, type LocalSite, startSite } from '../helpers/site.ts';
import {
  addJson,
  buildIngestApp,
  createChatbot,
  getSourceJson,
  searchHits,
  sourcesPath,
  upload,
} from '../helpers/sources.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-02T08:00:00.000Z');

let site: LocalSite;
let t: TestApp;
let chatbotId: string;
let replaces = 0;

beforeAll(async () => {
  site = startSite();
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) {
    site.set(`/${name}`, html(`<h1>Page ${name}</h1><p>Returns are free for ${name} items.</p>`));
  }
  t = await buildIngestApp();
  t.clock.pin(new Date(T0));
  chatbotId = await createChatbot(t);
  // Counts writes to the chunk index: an unchanged page must cause none.
  const knowledge = t.deps.knowledge;
  const replace = knowledge.replaceSource.bind(knowledge);
  knowledge.replaceSource = (...args) => {
    replaces++;
    return replace(...args);
  };
});
afterAll(async () => {
  site.stop();
  await t.close();
});

async function addUrl(path: string, refreshIntervalHours?: number | null) {
  const res = await addJson(t, chatbotId, {
    type: 'url',
    url: `${site.origin}${path}`,
    ...(refreshIntervalHours === undefined ? {} : { refreshIntervalHours }),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string; refreshIntervalHours: number | null };
}

const at = (ms: number) => t.clock.pin(new Date(ms));
const tick = () => t.deps.refreshScheduler.tick();
const hits = (path: string) => site.hits.filter((h) => h === path).length;
const dueAt = (id: string, intervalHours: number, sinceMs: number) =>
  refreshDueAt({ id, intervalHours, since: new Date(sinceMs).toISOString() });

describe('refresh schedule', () => {
  it('should spread each source by its own fixed jitter of at most ±10 % of the interval', () => {
    const jitters = Array.from({ length: 200 }, (_, i) => refreshJitter(`src_${i}`));
    for (const j of jitters) {
      expect(j).toBeGreaterThanOrEqual(-REFRESH_JITTER);
      expect(j).toBeLessThan(REFRESH_JITTER);
    }
    expect(refreshJitter('src_7')).toBe(jitters[7]!);
    expect(new Set(jitters).size).toBe(200);
    expect(Math.min(...jitters)).toBeLessThan(-0.08);
    expect(Math.max(...jitters)).toBeGreaterThan(0.08);
  });

  it('should queue a refresh when its jittered interval has passed, once, and write nothing for an unchanged page', async () => {
    const created = await addUrl('/a', 24);
    expect(created.refreshIntervalHours).toBe(24);
    await t.deps.worker.drain();
    const due = dueAt(created.id, 24, T0);
    expect(due).toBe(T0 + Math.round(24 * HOUR * (1 + refreshJitter(created.id))));

    at(due - 1);
    expect(tick()).toEqual([]);
    at(due);
    expect(tick()).toEqual([created.id]);
    // Queued and not ended: neither this loop nor a restarted one queues it again.
    expect(tick()).toEqual([]);
    expect(new RefreshScheduler({ sources: t.deps.sources, worker: t.deps.worker }).tick()).toEqual(
      [],
    );
    const job = t.deps.db
      .query<{ kind: string; payload: string; serial_key: string }, []>(
        "SELECT kind, payload, serial_key FROM jobs WHERE state = 'pending'",
      )
      .get();
    expect(job).toEqual({
      kind: 'source.ingest',
      payload: JSON.stringify({ sourceId: created.id, refresh: 'scheduled' }),
      serial_key: `source:${created.id}`,
    });

    const before = await getSourceJson(t, chatbotId, created.id);
    const fetches = hits('/a');
    replaces = 0;
    await t.deps.worker.drain();
    expect(hits('/a')).toBe(fetches + 1);
    expect(replaces).toBe(0);
    expect(await getSourceJson(t, chatbotId, created.id)).toEqual(before);
    expect(t.deps.worker.stats().pending).toBe(0);

    // The next one counts from the end of this fetch.
    const next = dueAt(created.id, 24, due);
    at(next - 1);
    expect(tick()).toEqual([]);
    at(next);
    expect(tick()).toEqual([created.id]);
    // A changed page is indexed and, as the chatbot has a test, starts a run that flags the
    // source (without an LLM the bot hands off, so the test fails). Told apart from an unchanged
    // page by its content, although every time written is the same pinned instant.
    createTest(t.deps, chatbotId, { question: 'Are returns free?', expect: 'answer' });
    site.set('/a', html('<h1>Page a</h1><p>Returns now cost five euros.</p>'));
    await t.deps.worker.drain();
    expect(replaces).toBe(1);
    expect((await searchHits(t, chatbotId, 'returns cost'))[0]?.text).toContain('five euros');
    const runs = await (await t.request(`/api/v1/chatbots/${chatbotId}/tests/runs`)).json();
    expect(runs.items).toEqual([
      expect.objectContaining({ trigger: 'refresh', sourceIds: [created.id], failed: 1 }),
    ]);
    expect((await getSourceJson(t, chatbotId, created.id)).lastTestRun).toMatchObject({
      runId: runs.items[0].runId,
      status: 'done',
      failed: 1,
    });
    // Changed again within the same instant (an admin's refresh): still told apart.
    site.set('/a', html('<h1>Page a</h1><p>Returns now cost six euros.</p>'));
    await t.request(`${sourcesPath(chatbotId)}/${created.id}/refresh`, { method: 'POST' });
    await t.deps.worker.drain();
    const again = await (await t.request(`/api/v1/chatbots/${chatbotId}/tests/runs`)).json();
    expect(again.items).toHaveLength(2);
    t.deps.db.query('DELETE FROM answer_tests').run();
  });

  it(`should keep at most ${REFRESHES_QUEUED_MAX} scheduled refreshes queued, the most overdue first`, async () => {
    const start = t.clock.now();
    const created = [];
    for (const path of ['/b', '/c', '/d', '/e', '/f', '/g']) created.push(await addUrl(path, 1));
    await t.deps.worker.drain();
    const byDue = [...created].sort((x, y) => dueAt(x.id, 1, start) - dueAt(y.id, 1, start));
    at(start + 2 * HOUR);
    const first = tick();
    expect(first).toEqual(byDue.slice(0, REFRESHES_QUEUED_MAX).map((s) => s.id));
    expect(tick()).toEqual([]);
    await t.deps.worker.drain();
    expect(tick()).toEqual(byDue.slice(REFRESHES_QUEUED_MAX).map((s) => s.id));
    await t.deps.worker.drain();
    expect(tick()).toEqual([]);
  });

  it('should never queue a source without an interval, and start and stop its loop', async () => {
    const created = await addUrl('/a', null);
    expect(created.refreshIntervalHours).toBeNull();
    await t.deps.worker.drain();
    at(t.clock.now() + 24 * 365 * HOUR);
    const queued = tick();
    expect(queued).not.toContain(created.id);
    await t.deps.worker.drain();
    const scheduler = new RefreshScheduler({ sources: t.deps.sources, worker: t.deps.worker }, 5);
    scheduler.start();
    scheduler.stop();
  });
});

describe('refreshIntervalHours', () => {
  const patch = (sourceId: string, json: unknown) =>
    t.request(`${sourcesPath(chatbotId)}/${sourceId}`, { method: 'PATCH', json });

  it('should be set and cleared with PATCH on url and sitemap sources', async () => {
    const created = await addUrl('/b');
    const set = await patch(created.id, { refreshIntervalHours: 12 });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ id: created.id, refreshIntervalHours: 12 });
    const cleared = await patch(created.id, { refreshIntervalHours: null });
    expect((await cleared.json()).refreshIntervalHours).toBeNull();
    const sitemap = await addJson(t, chatbotId, {
      type: 'sitemap',
      url: `${site.origin}/sitemap.xml`,
      refreshIntervalHours: 8_760,
    });
    expect(sitemap.status).toBe(202);
    expect((await sitemap.json()).refreshIntervalHours).toBe(8_760);
    await t.deps.worker.drain();
  });

  it('should refuse an interval outside 1–8,760 whole hours, and one on other source types, with 422', async () => {
    const created = await addUrl('/c');
    for (const refreshIntervalHours of [0, -1, 1.5, 8_761, '5', true]) {
      const res = await patch(created.id, { refreshIntervalHours });
      expect([refreshIntervalHours, res.status]).toEqual([refreshIntervalHours, 422]);
    }
    expect((await patch(created.id, {})).status).toBe(422);
    expect((await patch(created.id, { refreshIntervalHours: 2, title: 'x' })).status).toBe(422);
    const bad = await addJson(t, chatbotId, {
      type: 'url',
      url: `${site.origin}/c`,
      refreshIntervalHours: 0,
    });
    expect(bad.status).toBe(422);

    const text = await addJson(t, chatbotId, { type: 'text', title: 'T', text: 'Some text.' });
    const textSource = await text.json();
    const refused = await patch(textSource.id, { refreshIntervalHours: 5 });
    expect(refused.status).toBe(422);
    expect((await refused.json()).error.message).toBe(
      'Invalid body: refreshIntervalHours: only url and sitemap sources are refreshed on a schedule, this one is text',
    );
    for (const json of [
      { type: 'text', title: 'T', text: 'x', refreshIntervalHours: 5 },
      { type: 'qa', question: 'Q?', answer: 'A.', refreshIntervalHours: 5 },
    ]) {
      expect((await addJson(t, chatbotId, json)).status).toBe(422);
    }
    const file = await upload(t, chatbotId, 'notes.txt', 'Plain notes.', {
      refreshIntervalHours: '5',
    });
    expect(file.status).toBe(422);
    expect((await patch('src_unknown', { refreshIntervalHours: 5 })).status).toBe(404);
    await t.deps.worker.drain();
  });
});
