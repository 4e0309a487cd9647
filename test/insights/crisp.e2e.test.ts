// The loop end to end through the real HTTP server: Crisp visitors ask what the knowledge does not
// hold (the fake Groq hands off for lack of an answer), an operator answers one of them in Crisp,
// the grouped questions show that reply as the suggested answer, POST …/qa turns the group into a
// Q&A source, search finds it, and the playground then answers from it.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { type CrispHarness, newSession, startCrispHarness } from '../crisp/harness.ts';
import { operatorMessage, visitorMessage } from '../helpers/fake-crisp.ts';
import { fakeModel, type Report } from './setup.ts';

let h: CrispHarness;
beforeAll(async () => {
  h = await startCrispHarness();
  h.groq.setDefault(fakeModel);
});
afterAll(() => h.close());

const OPERATOR_ANSWER = 'We deliver to Mars every full moon.';

describe('unanswered questions from Crisp to a Q&A', () => {
  it('should group handed-off Crisp questions, suggest the operator’s reply, and answer from the Q&A made of it', async () => {
    const { bot, send } = await h.connectedBot();
    const first = newSession();
    const second = newSession();
    h.t.clock.pin(new Date('2026-03-01T10:00:00Z'));
    await send(visitorMessage('Do you deliver to Mars?', { sessionId: first }));
    await h.drain();
    h.t.clock.pin(new Date('2026-03-01T10:05:00Z'));
    await send(visitorMessage('Can you deliver to Mars?', { sessionId: second }));
    await h.drain();
    // Both were handed off: the visitor was told, and the bot is muted.
    for (const sid of [first, second]) expect(h.crisp.posted(sid).length).toBeGreaterThan(0);

    // A human answers the first one in Crisp.
    h.t.clock.pin(new Date('2026-03-01T10:10:00Z'));
    const replied = await send(operatorMessage(OPERATOR_ANSWER, { sessionId: first }));
    expect(await replied.json()).toEqual({ ok: true, action: 'muted' });

    const res = await h.admin(`/api/v1/chatbots/${bot.id}/insights/unanswered`);
    expect(res.status).toBe(200);
    const { groups } = (await res.json()) as Report;
    expect(groups).toEqual([
      {
        id: expect.stringMatching(/^grp_/),
        count: 2,
        examples: ['Can you deliver to Mars?', 'Do you deliver to Mars?'],
        lastSeenAt: '2026-03-01T10:05:00.000Z',
        sessionIds: [second, first],
        suggestedAnswer: OPERATOR_ANSWER,
      },
    ]);

    // One click: the representative question and the suggested answer become a Q&A.
    const created = await h.admin(
      `/api/v1/chatbots/${bot.id}/insights/unanswered/${groups[0]!.id}/qa`,
      { method: 'POST', json: {} },
    );
    expect(created.status).toBe(201);
    const source = (await created.json()) as { id: string; type: string; title: string };
    expect(source).toMatchObject({ type: 'qa', title: 'Can you deliver to Mars?' });

    const search = await h.admin(`/api/v1/chatbots/${bot.id}/search`, {
      method: 'POST',
      json: { query: 'deliver to Mars' },
    });
    const hits = ((await search.json()) as { hits: { sourceId: string; text: string }[] }).hits;
    expect(hits[0]?.sourceId).toBe(source.id);
    expect(hits[0]?.text).toContain(OPERATOR_ANSWER);

    const chat = await h.admin(`/api/v1/chatbots/${bot.id}/chat`, {
      method: 'POST',
      json: { message: 'Do you deliver to Mars?' },
    });
    const answer = (await chat.json()) as {
      reply: string;
      handoff: boolean;
      sources: { sourceId: string }[];
    };
    expect(answer.handoff).toBe(false);
    expect(answer.reply).toContain(OPERATOR_ANSWER);
    expect(answer.sources.map((s) => s.sourceId)).toContain(source.id);

    const after = await h.admin(`/api/v1/chatbots/${bot.id}/insights/unanswered`);
    expect(((await after.json()) as Report).groups).toEqual([]);
  });
});
