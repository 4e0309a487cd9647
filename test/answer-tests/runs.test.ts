// Test runs through the real answer pipeline and the fake Groq: passes and failures with their
// reasons, `changed` between runs, no trace left, no quota used, nothing posted, cost reported.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { type ChatApp, chatApp } from '../answers/setup.ts';
import { PLUGIN_TOKEN } from '../crisp/harness.ts';
import { type FakeCrisp, startFakeCrisp, WEBSITE_ID } from '../helpers/fake-crisp.ts';
import {
  type FakeGroq,
  type FakeReply,
  type FakeRequest,
  fakeAnswer,
  fakeHandoff,
  startFakeGroq,
} from '../helpers/fake-groq.ts';
import { addTest, type RunJson, readRun, runToEnd, sourceIds, testsPath } from './setup.ts';

let groq: FakeGroq;
let crisp: FakeCrisp;
let t: ChatApp;
let sources: Record<string, string>;
const ids: Record<string, string> = {};

/** The fake model's answers, by the question it is asked (the last user message). */
let answers: Record<string, FakeReply> = {};
const answerFor = (req: FakeRequest): FakeReply => {
  const question = req.body.messages.at(-1)?.content ?? '';
  return answers[question] ?? fakeHandoff('no_answer');
};

const Q = {
  refund: 'How long does a refund take?',
  mars: 'Do you ship to Mars?',
  canada: 'What does shipping to Canada cost?',
  person: 'I want to talk to a human',
  hours: 'When is your warehouse open?',
  german: 'Wie lange dauert eine Erstattung?',
};

beforeAll(async () => {
  groq = await startFakeGroq();
  groq.setDefault(answerFor);
  crisp = startFakeCrisp({ tokens: [PLUGIN_TOKEN], websites: [WEBSITE_ID] });
  // Knowledge language off: the German question is answered without a translation call.
  t = await chatApp(
    groq,
    { CRISP_API_URL: crisp.url },
    { language: { knowledge: null }, quota: { dailyMessages: 1, monthlyMessages: 1 } },
  );
  sources = await sourceIds(t);
  const connected = await t.request(`/api/v1/chatbots/${t.chatbotId}/integrations/crisp`, {
    method: 'PUT',
    json: {
      websiteId: WEBSITE_ID,
      tokenIdentifier: PLUGIN_TOKEN.identifier,
      tokenKey: PLUGIN_TOKEN.key,
    },
  });
  expect(connected.status).toBe(200);
  const refund = sources['Refund policy']!;
  const specs = {
    refund: {
      question: Q.refund,
      expect: 'answer',
      mustCite: [refund],
      mustContain: ['5 BUSINESS days'],
    },
    mars: { question: Q.mars, expect: 'answer', mustContain: ['mars'] },
    canada: {
      question: Q.canada,
      expect: 'answer',
      mustCite: [refund],
      mustNotContain: ['12 Dollars'],
    },
    person: { question: Q.person, expect: 'handoff' },
    hours: { question: Q.hours, expect: 'handoff' },
    german: { question: Q.german, expect: 'answer', language: 'de' },
  };
  for (const [name, spec] of Object.entries(specs)) {
    const created = await addTest(t, spec);
    expect(created.status).toBe(201);
    ids[name] = created.body.id;
  }
});
afterAll(async () => {
  await t.close();
  await groq.stop();
  crisp.close();
});

const byTest = (run: RunJson) => Object.fromEntries(run.results.map((r) => [r.testId, r]));

describe('answer-test runs', () => {
  let first: RunJson;

  it('should run every test through the pipeline and say why each failure failed', async () => {
    answers = {
      [Q.refund]: fakeAnswer('Refunds are paid within 5 business days [1].'),
      [Q.canada]: fakeAnswer('Shipping to Canada costs 12 dollars [1].'),
      [Q.hours]: fakeAnswer('Our warehouse team works from nine to five [1].'),
      [Q.german]: fakeAnswer('The refund is paid back within five days [1].'),
    };
    const conversationsBefore = t.deps.db.query('SELECT COUNT(*) AS n FROM conversations').get();
    const started = await t.request(testsPath(t.chatbotId, '/run'), { method: 'POST' });
    expect(started.status).toBe(202);
    const { runId, status } = await started.json();
    expect(status).toBe('queued');
    expect((await readRun(t, runId)).status).toBe('queued');
    await t.deps.worker.drain();
    first = await readRun(t, runId);

    expect(first).toMatchObject({ status: 'done', trigger: 'manual', sourceIds: [], error: null });
    expect(first.startedAt).not.toBeNull();
    expect(first.finishedAt).not.toBeNull();
    expect(first.results.map((r) => r.testId)).toEqual(Object.values(ids));
    const results = byTest(first);
    const refund = sources['Refund policy']!;
    expect(results[ids.refund!]).toMatchObject({
      status: 'pass',
      reasons: [],
      reply: 'Refunds are paid within 5 business days.',
      handoff: false,
      cited: [refund],
      changed: false,
      previousStatus: null,
    });
    expect(results[ids.mars!]).toMatchObject({
      status: 'fail',
      reasons: [
        'expected an answer, but the bot handed off (no answer in the knowledge)',
        'the reply does not contain "mars"',
      ],
      handoff: true,
      handoffReason: 'no_answer',
      cited: [],
    });
    expect(results[ids.canada!]).toMatchObject({
      status: 'fail',
      reasons: [`did not cite source ${refund}`, 'the reply contains "12 Dollars"'],
      cited: [sources['Shipping to Canada']],
    });
    // A request for a person hands off before any LLM call: nothing spent.
    expect(results[ids.person!]).toMatchObject({
      status: 'pass',
      handoff: true,
      handoffReason: 'asked_for_human',
      usage: { llmCalls: 0, costUsd: 0 },
    });
    expect(results[ids.hours!]).toMatchObject({
      status: 'fail',
      reasons: ['expected a handoff, but the bot answered'],
    });
    expect(results[ids.german!]).toMatchObject({
      status: 'fail',
      reasons: ['the reply is in en, expected de'],
    });
    expect(first).toMatchObject({ passed: 2, failed: 4 });

    // The LLM cost is reported per result and for the run.
    expect(results[ids.refund!]!.usage.llmCalls).toBe(1);
    expect(results[ids.refund!]!.costUsd).toBeGreaterThan(0);
    const sum = first.results.reduce((total, r) => total + r.costUsd, 0);
    expect(first.costUsd).toBeCloseTo(sum, 8);
    expect(first.usage.llmCalls).toBe(5);

    // No trace: no conversation left, the quota untouched (1 a day would be used up), nothing
    // posted to Crisp.
    expect(t.deps.db.query('SELECT COUNT(*) AS n FROM conversations').get()).toEqual(
      conversationsBefore,
    );
    const usage = await (await t.request(`/api/v1/chatbots/${t.chatbotId}/usage`)).json();
    expect(usage.day.used).toBe(0);
    expect(crisp.calls.filter((c) => c.route !== 'check')).toEqual([]);
  });

  it('should mark what changed since the previous run, and show each test’s latest result', async () => {
    // The refund question is handed off now (pass → fail); the hours reply differs only in case
    // and spacing; the German one is another reply failing the same way.
    answers = {
      [Q.canada]: fakeAnswer('Shipping to Canada costs 12 dollars [1].'),
      [Q.hours]: fakeAnswer('Our   warehouse team works from NINE to five [1].'),
      [Q.german]: fakeAnswer('The refund is paid back within a week [1].'),
    };
    const second = await runToEnd(t);
    const results = byTest(second);
    expect(results[ids.refund!]).toMatchObject({
      status: 'fail',
      changed: true,
      previousStatus: 'pass',
    });
    // Same handoff again; same reply and citation (whitespace and case aside): unchanged.
    for (const name of ['mars', 'canada', 'person', 'hours']) {
      expect([name, results[ids[name]!]!.changed]).toEqual([name, false]);
    }
    expect(results[ids.german!]).toMatchObject({
      status: 'fail',
      changed: true,
      previousStatus: 'fail',
    });

    const list = await (await t.request(testsPath(t.chatbotId))).json();
    const refundTest = list.items.find((x: { id: string }) => x.id === ids.refund);
    expect(refundTest.lastResult).toEqual({
      runId: second.runId,
      status: 'fail',
      reasons: [
        'expected an answer, but the bot handed off (no answer in the knowledge)',
        `did not cite source ${sources['Refund policy']}`,
        'the reply does not contain "5 BUSINESS days"',
      ],
      finishedAt: second.finishedAt,
    });
    const runs = await (await t.request(testsPath(t.chatbotId, '/runs'))).json();
    expect(runs.items.map((r: { runId: string }) => r.runId)).toEqual([second.runId, first.runId]);
    expect(runs.items[1]).toMatchObject({ passed: 2, failed: 4, costUsd: first.costUsd });
    expect(runs.items[0].results).toBeUndefined();
  });

  it('should give a second request the run already queued, one run per chatbot at a time', async () => {
    const a = await (await t.request(testsPath(t.chatbotId, '/run'), { method: 'POST' })).json();
    const b = await (await t.request(testsPath(t.chatbotId, '/run'), { method: 'POST' })).json();
    expect(b).toEqual(a);
    await t.deps.worker.drain();
    expect((await readRun(t, a.runId)).status).toBe('done');
    const c = await (await t.request(testsPath(t.chatbotId, '/run'), { method: 'POST' })).json();
    expect(c.runId).not.toBe(a.runId);
    await t.deps.worker.drain();
  });
});
