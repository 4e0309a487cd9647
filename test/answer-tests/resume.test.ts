// A run interrupted by a stop goes on where it stopped: tests with a result are not asked again.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { getRun } from '../../src/answer-tests/store.ts';
import { type ChatApp, chatApp } from '../answers/setup.ts';
import { type FakeGroq, fakeAnswer, startFakeGroq } from '../helpers/fake-groq.ts';
import { addTest, readRun, testsPath } from './setup.ts';

let groq: FakeGroq;
let t: ChatApp;

beforeAll(async () => {
  groq = await startFakeGroq();
  t = await chatApp(groq);
});
afterAll(async () => {
  await t.close();
  await groq.stop();
});

describe('answer-test run interrupted', () => {
  it('should go on after a stop with the tests that have no result yet, never asking an answered one again', async () => {
    for (const question of ['How long does a refund take?', 'What does shipping to Canada cost?']) {
      await addTest(t, { question, expect: 'answer' });
    }
    const stalled = Promise.withResolvers<void>();
    let resultsAtResume = null as string[] | null;
    groq.enqueue(fakeAnswer('Refunds take 5 business days [1].'));
    // The second question's first answer never comes (the stop interrupts it); asked again after
    // the stop, it is answered.
    groq.setDefault(() => {
      if (resultsAtResume === null && groq.requests.length === 2) {
        stalled.resolve();
        return { ...fakeAnswer('Shipping costs 12 dollars [1].'), stallAfterTokens: 1 };
      }
      resultsAtResume ??= getRun(t.deps.db, t.chatbotId, runId).results.map((r) => r.question);
      return fakeAnswer('Shipping to Canada costs 12 dollars [1].');
    });
    const { runId } = await (
      await t.request(testsPath(t.chatbotId, '/run'), { method: 'POST' })
    ).json();
    // drain() runs the jobs even after the stop: the interrupted run is retried in it.
    const draining = t.deps.worker.drain();
    await stalled.promise;
    await t.deps.worker.stop();
    await draining;

    const run = await readRun(t, runId);
    expect(run.status).toBe('done');
    expect(resultsAtResume).toEqual(['How long does a refund take?']);
    expect(run.results.map((r) => [r.question, r.status])).toEqual([
      ['How long does a refund take?', 'pass'],
      ['What does shipping to Canada cost?', 'pass'],
    ]);
    expect(groq.requests.map((r) => r.body.messages.at(-1)?.content)).toEqual([
      'How long does a refund take?',
      'What does shipping to Canada cost?',
      'What does shipping to Canada cost?',
    ]);
    // No conversation of the interrupted test is left behind.
    expect(t.deps.db.query('SELECT COUNT(*) AS n FROM conversations').get()).toEqual({ n: 0 });
  });
});
