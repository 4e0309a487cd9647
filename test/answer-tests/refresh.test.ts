// A source refresh that changes content starts the answer tests; a failing test flags the source
// (`lastTestRun`) and is logged. A page on a local site plays the help centre.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { createLogger } from '../../src/logging.ts';
import type { TestApp } from '../helpers/app.ts';
import { type FakeGroq, fakeAnswer, promptText, startFakeGroq } from '../helpers/fake-groq.ts';
import { html, type LocalSite, startSite } from '../helpers/site.ts';
import {
  addJson,
  buildIngestApp,
  createChatbot,
  getSourceJson,
  searchHits,
} from '../helpers/sources.ts';
import { addTest, testsPath } from './setup.ts';

const page = (hour: string) =>
  html(`<h1>Opening hours</h1><p>Our shop opens at ${hour} every weekday morning.</p>`, 'Hours');

let site: LocalSite;
let groq: FakeGroq;
let t: TestApp & { chatbotId: string };
let sourceId: string;
let testId: string;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  site = startSite({ '/hours': page('nine') });
  groq = await startFakeGroq();
  // The fake model reads the passage it is given, like the real one would.
  groq.setDefault((req) =>
    fakeAnswer(
      promptText(req).includes('opens at ten') ? 'We open at ten [1].' : 'We open at nine [1].',
    ),
  );
  const app = await buildIngestApp({ GROQ_BASE_URL: groq.baseUrl, GROQ_API_KEY: 'test-key' });
  t = { ...app, chatbotId: await createChatbot(app) };
  t.deps.log = createLogger('warn', { write: (line: string) => logLines.push(JSON.parse(line)) });
  const created = await addJson(t, t.chatbotId, { type: 'url', url: `${site.origin}/hours` });
  sourceId = (await created.json()).id;
  await t.deps.worker.drain();
  const test = await addTest(t, {
    question: 'When do you open?',
    expect: 'answer',
    mustCite: [sourceId],
    mustContain: ['nine'],
  });
  testId = test.body.id;
});
afterAll(async () => {
  site.stop();
  await t.close();
  await groq.stop();
});

const runs = async (chatbotId = t.chatbotId) =>
  (await (await t.request(testsPath(chatbotId, '/runs'))).json()).items as {
    runId: string;
    trigger: string;
    sourceIds: string[];
    status: string;
    failed: number;
  }[];

const refresh = (chatbotId: string, id: string) =>
  t.request(`/api/v1/chatbots/${chatbotId}/sources/${id}/refresh`, { method: 'POST' });

describe('answer tests after a source refresh', () => {
  it('should start no run when a source is added or refreshed without a change', async () => {
    expect(await runs()).toEqual([]);
    expect((await refresh(t.chatbotId, sourceId)).status).toBe(202);
    await t.deps.worker.drain();
    expect(site.hits.filter((h) => h === '/hours')).toHaveLength(2);
    expect(await runs()).toEqual([]);
    expect((await getSourceJson(t, t.chatbotId, sourceId)).lastTestRun).toBeNull();
  });

  it('should run the tests after a refresh that changed content, flag the source and log the failure', async () => {
    site.set('/hours', page('ten'));
    expect((await refresh(t.chatbotId, sourceId)).status).toBe(202);
    await t.deps.worker.drain();
    const [run] = await runs();
    expect(run).toMatchObject({
      trigger: 'refresh',
      sourceIds: [sourceId],
      status: 'done',
      failed: 1,
    });
    const detail = await (await t.request(testsPath(t.chatbotId, `/runs/${run!.runId}`))).json();
    expect(detail.results).toEqual([
      expect.objectContaining({
        testId,
        status: 'fail',
        reasons: ['the reply does not contain "nine"'],
        reply: 'We open at ten.',
        cited: [sourceId],
      }),
    ]);
    const source = await getSourceJson(t, t.chatbotId, sourceId);
    expect(source.lastTestRun).toEqual({
      runId: run!.runId,
      status: 'done',
      passed: 0,
      failed: 1,
      finishedAt: detail.finishedAt,
    });
    expect(logLines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'answer tests fail after a source refresh',
        chatbotId: t.chatbotId,
        runId: run!.runId,
        sourceIds: [sourceId],
        failedTestIds: [testId],
      }),
    );
  });

  it('should start no run for a chatbot without tests', async () => {
    const other = await createChatbot(t, 'No tests');
    site.set('/other', page('eight'));
    const created = await (
      await addJson(t, other, { type: 'url', url: `${site.origin}/other` })
    ).json();
    await t.deps.worker.drain();
    site.set('/other', page('seven'));
    await refresh(other, created.id);
    await t.deps.worker.drain();
    expect((await searchHits(t, other, 'opens'))[0]?.text).toContain('seven');
    expect(await runs(other)).toEqual([]);
    expect((await getSourceJson(t, other, created.id)).lastTestRun).toBeNull();
  });
});
