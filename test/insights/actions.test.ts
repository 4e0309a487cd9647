// POST …/insights/unanswered/:groupId/qa and DELETE …/:groupId: a group becomes a Q&A source (or is
// dismissed) and leaves the list; closed groups, unknown groups, and questions asked afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { insightsApp } from './setup.ts';

let t: Awaited<ReturnType<typeof insightsApp>>;
beforeAll(async () => {
  t = await insightsApp();
});
afterAll(() => t.close());

const DAY = '?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z';
const at = (hhmm: string) => `2026-03-01T${hhmm}:00.000Z`;

/** A chatbot with one group of two Mars questions; returns the group id. */
async function marsGroup() {
  const bot = await t.newChatbot();
  await t.ask(bot, 'Do you deliver to Mars?', { at: at('09:00') });
  await t.ask(bot, 'Can you deliver to Mars?', { at: at('09:05') });
  const { body } = await t.unanswered(bot, DAY);
  expect(body.groups).toHaveLength(1);
  return { bot, groupId: body.groups[0]!.id };
}

const post = (bot: string, groupId: string, json: unknown = {}) =>
  t.request(`/api/v1/chatbots/${bot}/insights/unanswered/${groupId}/qa`, { method: 'POST', json });
const dismiss = (bot: string, groupId: string) =>
  t.request(`/api/v1/chatbots/${bot}/insights/unanswered/${groupId}`, { method: 'DELETE' });

describe('POST …/insights/unanswered/:groupId/qa', () => {
  it('should refuse {} when no operator replied, then add the given Q&A and resolve the group', async () => {
    const { bot, groupId } = await marsGroup();
    const refused = await post(bot, groupId);
    expect(refused.status).toBe(422);
    expect((await refused.json()).error.message).toContain('answer');

    const res = await post(bot, groupId, { answer: 'We deliver to Mars every full moon.' });
    expect(res.status).toBe(201);
    const source = await res.json();
    // The two are as representative as each other: the newest is the question.
    expect(source).toMatchObject({
      type: 'qa',
      title: 'Can you deliver to Mars?',
      status: 'ready',
    });

    // Searchable at once, and the group has left the list.
    const search = await t.request(`/api/v1/chatbots/${bot}/search`, {
      method: 'POST',
      json: { query: 'deliver to Mars' },
    });
    expect((await search.json()).hits[0]).toMatchObject({ sourceId: source.id });
    expect((await t.unanswered(bot, DAY)).body.groups).toEqual([]);

    const again = await post(bot, groupId, { answer: 'Again.' });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe('CONFLICT');
    expect((await dismiss(bot, groupId)).status).toBe(409);
  });

  it('should take an edited question and answer', async () => {
    const { bot, groupId } = await marsGroup();
    const res = await post(bot, groupId, {
      question: 'Do you ship to Mars?',
      answer: 'Not yet.',
    });
    expect(res.status).toBe(201);
    const source = await res.json();
    const read = await t.request(`/api/v1/chatbots/${bot}/sources/${source.id}`);
    expect(await read.json()).toMatchObject({ type: 'qa', title: 'Do you ship to Mars?' });
  });

  it('should put an earlier question in the resolved group and start a new group for one asked afterwards', async () => {
    const { bot, groupId } = await marsGroup();
    // Asked before the resolution, grouped only at the next read: it was dealt with.
    await t.ask(bot, 'Can you deliver to Mars today?', { at: at('10:00') });
    t.clock.pin(new Date(at('11:00')));
    expect((await post(bot, groupId, { answer: 'Soon.' })).status).toBe(201);
    // Asked after it: the Q&A did not help, so it is seen again.
    await t.ask(bot, 'Can you deliver to Mars?', { at: at('12:00') });
    const { body } = await t.unanswered(bot, DAY);
    expect(body.groups).toEqual([
      expect.objectContaining({ count: 1, examples: ['Can you deliver to Mars?'] }),
    ]);
    expect(body.groups[0]?.id).not.toBe(groupId);
  });

  it('should answer 404 for an unknown group, another chatbot’s group, or an unknown chatbot', async () => {
    const { bot, groupId } = await marsGroup();
    const other = await t.newChatbot();
    for (const [chatbot, group] of [
      [bot, 'grp_unknown'],
      [other, groupId],
      ['bot_unknown', groupId],
    ] as const) {
      expect((await post(chatbot, group, { answer: 'x' })).status).toBe(404);
      expect((await dismiss(chatbot, group)).status).toBe(404);
    }
  });

  it('should refuse a body with unknown fields or empty texts', async () => {
    const { bot, groupId } = await marsGroup();
    for (const json of [{ answer: '   ' }, { question: '' }, { answer: 'x', extra: 1 }, []]) {
      expect((await post(bot, groupId, json)).status).toBe(422);
    }
  });
});

describe('DELETE …/insights/unanswered/:groupId', () => {
  it('should dismiss the group (again: no change) and list a question asked afterwards anew', async () => {
    const { bot, groupId } = await marsGroup();
    t.clock.pin(new Date(at('11:00')));
    const res = await dismiss(bot, groupId);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await t.unanswered(bot, DAY)).body.groups).toEqual([]);
    expect((await dismiss(bot, groupId)).status).toBe(204);
    expect((await post(bot, groupId, { answer: 'x' })).status).toBe(409);
    await t.ask(bot, 'Do you deliver to Mars?', { at: at('12:00') });
    expect((await t.unanswered(bot, DAY)).body.groups.map((g) => g.count)).toEqual([1]);
  });
});
