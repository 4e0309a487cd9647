// GET …/analytics over a scripted day: Crisp conversations through the real webhook and the
// playground, the clock pinned at every step, and every number of the answer checked exactly.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { type CrispHarness, newSession, startCrispHarness } from '../crisp/harness.ts';
import { operatorMessage, setState, visitorMessage } from '../helpers/fake-crisp.ts';
import type { FakeRequest } from '../helpers/fake-groq.ts';
import { fakeModel } from '../insights/setup.ts';

let h: CrispHarness;
/** How long the next answer call "takes": the fake model moves the pinned clock on by it. */
let llmMs = 0;
beforeAll(async () => {
  h = await startCrispHarness();
  h.groq.setDefault((req: FakeRequest) => {
    if (req.kind === 'answer') h.t.clock.pin(new Date(h.t.clock.now() + llmMs));
    return fakeModel(req);
  });
});
afterAll(() => h.close());

const D = '2026-03-02'; // a Monday
const at = (time: string, day = D) => new Date(`${day}T${time}Z`);
const pin = (time: string, day = D) => h.t.clock.pin(at(time, day));

type Usage = { totalTokens: number; costUsd: number };
type Outcomes = Record<string, unknown> & { llm: { tokens: number; costUsd: number } };
type Report = {
  totals: Outcomes & { channels: Record<string, Outcomes> };
  series: (Outcomes & { start: string; end: string; channels: Record<string, Outcomes> })[];
  error?: { code: string };
};

let bot: string;
/** LLM usage of the bot messages, per channel, as their provenance records it. */
const usage = { crisp: [] as Usage[], playground: [] as Usage[] };

const sum = (list: Usage[]) => ({
  tokens: list.reduce((n, u) => n + u.totalTokens, 0),
  costUsd: Math.round(list.reduce((n, u) => n + u.costUsd, 0) * 1e8) / 1e8,
});

async function report(query: string) {
  const res = await h.admin(`/api/v1/chatbots/${bot}/analytics${query}`);
  return { status: res.status, body: (await res.json()) as Report };
}

/** The scripted day, plus one playground question just before it and one just after. */
beforeAll(async () => {
  const connected = await h.connectedBot();
  bot = connected.bot.id;
  const send = connected.send;
  const [c1, c2, c3] = [newSession(), newSession(), newSession()];
  /** A Crisp visitor message at `time`, answered `afterMs` later plus the LLM's time. */
  const crisp = async (sid: string, text: string, time: string, afterMs: number, llm = 400) => {
    pin(time);
    await send(visitorMessage(text, { sessionId: sid }));
    h.t.clock.pin(new Date(at(time).getTime() + afterMs));
    llmMs = llm;
    await h.drain();
  };
  const playground = async (id: string, text: string, time: string, llm: number, day = D) => {
    pin(time, day);
    llmMs = llm;
    const res = await h.admin(`/api/v1/chatbots/${bot}/chat`, {
      method: 'POST',
      json: { message: text, conversationId: id },
    });
    const body = (await res.json()) as { usage: Usage };
    if (day === D) usage.playground.push(body.usage);
  };

  // c1: answered, resolved with no human (auto-resolved), reopened, answered twice, resolved again.
  await crisp(c1, 'How long does a refund take?', '09:00:00.000', 1500);
  pin('09:30:00.000');
  await send(setState('resolved', { sessionId: c1 }));
  await crisp(c1, 'And for sale items, how long does a refund take?', '13:00:00.000', 3000);
  await crisp(c1, 'Is the refund paid by card?', '13:10:00.000', 1000);
  pin('14:00:00.000');
  await send(setState('resolved', { sessionId: c1 }));
  // c2: handed off for lack of an answer, answered by an operator, resolved (not by the bot).
  await crisp(c2, 'Do you deliver to Mars?', '10:00:00.000', 2000);
  pin('10:05:00.000');
  await send(operatorMessage('We do not, sorry.', { sessionId: c2 }));
  pin('10:30:00.000');
  await send(setState('resolved', { sessionId: c2 }));
  // c3: the visitor asks for a person (no LLM call).
  await crisp(c3, 'I want to talk to a human', '11:00:00.000', 500, 0);

  await playground('p1', 'How long does a refund take?', '15:00:00.000', 100);
  await playground('p2', 'Do you deliver to Mars?', '15:10:00.000', 200);
  await playground('p1', 'Is a refund possible for sale items?', '16:00:00.000', 300);
  await playground('p3', 'Can I get a refund?', '23:59:59.000', 400);
  await playground('p3', 'Can I get a refund today?', '00:00:00.000', 500, '2026-03-03');
  await playground('p0', 'Can I get a refund?', '23:00:00.000', 600, '2026-03-01');

  for (const sid of [c1, c2, c3]) {
    const res = await h.admin(`/api/v1/chatbots/${bot}/conversations/${sid}`);
    const { messages } = (await res.json()) as {
      messages: { role: string; provenance: { usage: Usage } | null }[];
    };
    for (const m of messages) if (m.role === 'bot') usage.crisp.push(m.provenance!.usage);
  }
}, 60_000);

const handoffs = (h: Partial<Record<string, number>>) => ({
  no_answer: 0,
  asked_for_human: 0,
  frustration: 0,
  error: 0,
  quota: 0,
  ...h,
});

const crispDay = () => ({
  conversations: 3,
  visitorMessages: 5,
  botAnswers: 3,
  handoffs: handoffs({ no_answer: 1, asked_for_human: 1 }),
  autoResolved: 1,
  humanTakeovers: 1,
  reopened: 1,
  // 500, 1400, 1900, 2400, 3400: the 3rd and the 5th of five.
  replyLatencyMs: { p50: 1900, p90: 3400 },
  llm: sum(usage.crisp),
});

const playgroundDay = () => ({
  conversations: 3,
  visitorMessages: 4,
  botAnswers: 3,
  handoffs: handoffs({ no_answer: 1 }),
  autoResolved: 0,
  humanTakeovers: 0,
  reopened: 0,
  // 100, 200, 300, 400.
  replyLatencyMs: { p50: 200, p90: 400 },
  llm: sum(usage.playground),
});

describe('GET …/analytics', () => {
  it('should count a scripted day exactly, in total and per channel', async () => {
    const { status, body } = await report(`?from=${D}&to=2026-03-03&interval=day`);
    expect(status).toBe(200);
    const crisp = crispDay();
    const playground = playgroundDay();
    expect(crisp.llm.tokens).toBeGreaterThan(0);
    expect(body.totals).toEqual({
      conversations: 6,
      visitorMessages: 9,
      botAnswers: 6,
      handoffs: handoffs({ no_answer: 2, asked_for_human: 1 }),
      autoResolved: 1,
      humanTakeovers: 1,
      reopened: 1,
      // 100, 200, 300, 400, 500, 1400, 1900, 2400, 3400.
      replyLatencyMs: { p50: 500, p90: 3400 },
      llm: sum([...usage.crisp, ...usage.playground]),
      channels: { crisp, playground },
    });
    expect(body.series).toEqual([
      { ...body.totals, start: `${D}T00:00:00.000Z`, end: '2026-03-03T00:00:00.000Z' },
    ]);
  });

  it('should cover every interval of the period, empty ones too, and count a conversation once in total', async () => {
    const { body } = await report('?from=2026-02-28T00:00:00Z&to=2026-03-04T00:00:00Z');
    expect(body.series.map((e) => [e.start, e.conversations, e.visitorMessages])).toEqual([
      ['2026-02-28T00:00:00.000Z', 0, 0],
      ['2026-03-01T00:00:00.000Z', 1, 1],
      [`${D}T00:00:00.000Z`, 6, 9],
      ['2026-03-03T00:00:00.000Z', 1, 1],
    ]);
    const empty = body.series[0]!;
    expect(empty.replyLatencyMs).toEqual({ p50: null, p90: null });
    expect(empty.llm).toEqual({ tokens: 0, costUsd: 0 });
    // p3 wrote on the 2nd and on the 3rd: once in each day, once in the total.
    expect(body.totals.conversations).toBe(7);
    expect(body.totals.visitorMessages).toBe(11);
  });

  it('should group by weeks starting on Monday, UTC', async () => {
    const { body } = await report(
      '?from=2026-03-01T00:00:00Z&to=2026-03-09T00:00:00Z&interval=week',
    );
    expect(body.series.map((e) => [e.start, e.end, e.visitorMessages])).toEqual([
      ['2026-02-23T00:00:00.000Z', '2026-03-02T00:00:00.000Z', 1],
      ['2026-03-02T00:00:00.000Z', '2026-03-09T00:00:00.000Z', 10],
    ]);
  });

  it('should keep one channel when asked', async () => {
    const { body } = await report(`?from=${D}&to=2026-03-03&channel=crisp`);
    const { channels, ...totals } = body.totals;
    expect(totals).toEqual(crispDay());
    expect(Object.keys(channels)).toEqual(['crisp']);
    expect(body.series[0]?.channels).toEqual({ crisp: crispDay() });
  });

  it('should refuse a bad interval, channel or period', async () => {
    for (const query of [
      '?interval=month',
      '?channel=email',
      '?from=2025-01-01&to=2026-03-01',
      '?from=2026-03-02&to=2026-03-02',
      '?to=not-a-date',
    ]) {
      const { status, body } = await report(query);
      expect({ query, status, code: body.error?.code }).toEqual({
        query,
        status: 422,
        code: 'VALIDATION_FAILED',
      });
    }
    const unknown = await h.admin('/api/v1/chatbots/bot_unknown/analytics');
    expect(unknown.status).toBe(404);
  });
});
