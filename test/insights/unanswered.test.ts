// GET …/insights/unanswered: handed-off questions grouped (lexically here; vectors in
// vectors.test.ts), stable group ids, translated questions, low-confidence answers apart, bounds.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { MESSAGE_CHARS_MAX } from '../../src/answers/model.ts';
import { TURNS_SCANNED_MAX } from '../../src/insights/service.ts';
import { itRequiresTheAdminToken } from '../helpers/auth.ts';
import { FRENCH_MARS, insightsApp, seedHandoffs } from './setup.ts';

let t: Awaited<ReturnType<typeof insightsApp>>;
beforeAll(async () => {
  t = await insightsApp();
});
afterAll(() => t.close());

const DAY = '?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z';
const at = (hhmm: string) => `2026-03-01T${hhmm}:00.000Z`;

describe('GET …/insights/unanswered', () => {
  it('should group similar handed-off questions, most frequent first, with examples, sessions and the last time', async () => {
    const bot = await t.newChatbot();
    const mars = [
      await t.ask(bot, 'Do you deliver to Mars?', { at: at('10:00') }),
      await t.ask(bot, 'Can you deliver parcels to Mars?', { at: at('10:05') }),
      await t.ask(bot, 'Can you deliver parcels to planet Mars?', { at: at('10:10') }),
    ];
    await t.ask(bot, 'Can I pay with bitcoin?', { at: at('11:00') });
    await t.ask(bot, 'Can I pay with bitcoins?', { at: at('11:30') });
    await t.ask(bot, 'Do you deliver to Venus?', { at: at('12:00') });
    const answered = await t.ask(bot, 'How long does a refund take?', { at: at('12:30') });
    expect(answered.handoff).toBe(false);

    const { status, body } = await t.unanswered(bot, DAY);
    expect(status).toBe(200);
    expect(body.groups.map((g) => [g.count, g.examples[0]])).toEqual([
      [3, 'Can you deliver parcels to Mars?'],
      // Equally representative: the newest first.
      [2, 'Can I pay with bitcoins?'],
      [1, 'Do you deliver to Venus?'],
    ]);
    const [group] = body.groups;
    // The most representative question (the most similar to the others) first, then the others
    // newest first.
    expect(group?.examples).toEqual([
      'Can you deliver parcels to Mars?',
      'Can you deliver parcels to planet Mars?',
      'Do you deliver to Mars?',
    ]);
    expect(group?.sessionIds).toEqual(mars.map((m) => m.conversationId).reverse());
    expect(group?.lastSeenAt).toBe(at('10:10'));
    expect(group?.suggestedAnswer).toBeNull();
    expect(group?.id).toMatch(/^grp_[0-9a-f]{32}$/);
    expect(JSON.stringify(body.groups)).not.toContain('refund');
    expect(body.truncated).toBe(false);
  });

  it('should keep group ids across reads and periods, counting only the period asked', async () => {
    const bot = await t.newChatbot();
    await t.ask(bot, 'Do you deliver to Mars?', { at: at('09:00') });
    await t.ask(bot, 'Can you deliver to Mars?', { at: at('15:00') });
    const whole = await t.unanswered(bot, DAY);
    const afternoon = await t.unanswered(
      bot,
      '?from=2026-03-01T12:00:00%2B00:00&to=2026-03-01T18:00:00Z',
    );
    const again = await t.unanswered(bot, DAY);
    expect(whole.body.groups).toHaveLength(1);
    expect(afternoon.body.groups).toEqual([
      expect.objectContaining({ id: whole.body.groups[0]?.id, count: 1 }),
    ]);
    expect(again.body.groups).toEqual(whole.body.groups);
  });

  it('should default to the last 30 days', async () => {
    const bot = await t.newChatbot();
    await t.ask(bot, 'Do you deliver to Mars?', { at: at('09:00') });
    await t.ask(bot, 'Can you deliver to Mars?', { at: '2026-01-01T09:00:00.000Z' });
    t.clock.pin(new Date('2026-03-20T00:00:00Z'));
    const { body } = await t.unanswered(bot);
    expect(body.groups.map((g) => g.count)).toEqual([1]);
  });

  it('should group a question the pipeline translated with the same question in the knowledge base language', async () => {
    const bot = await t.newChatbot();
    await t.ask(bot, 'Can you deliver to Mars?', { at: at('09:00') });
    await t.ask(bot, FRENCH_MARS, { at: at('09:30') });
    const { body } = await t.unanswered(bot, DAY);
    expect(body.groups).toHaveLength(1);
    expect(body.groups[0]?.examples.sort()).toEqual(['Can you deliver to Mars?', FRENCH_MARS]);
  });

  it('should list answers given on a weak best passage apart from the groups', async () => {
    const bot = await t.newChatbot();
    await t.ask(bot, 'refund', { at: at('09:00') });
    await t.ask(bot, 'How long until my refund is paid back?', { at: at('09:10') });
    await t.ask(bot, 'Do you deliver to Mars?', { at: at('09:20') });
    const { body } = await t.unanswered(bot, DAY);
    expect(body.groups.flatMap((g) => g.examples)).toEqual(['Do you deliver to Mars?']);
    expect(body.lowConfidence).toEqual([
      expect.objectContaining({
        question: 'refund',
        reply: 'Refunds take 5 business days.',
        scoreKind: 'fullText',
        at: at('09:00'),
      }),
    ]);
    const weak = body.lowConfidence[0]!;
    expect(weak.topScore).toBeLessThan(3);
    expect(weak.messageId).toMatch(/^msg_/);
    // A lower bar lists none; a higher one lists both answers, the newest first.
    expect((await t.unanswered(bot, `${DAY}&minTextScore=0.5`)).body.lowConfidence).toEqual([]);
    const strict = await t.unanswered(bot, `${DAY}&minTextScore=100`);
    expect(strict.body.lowConfidence.map((i) => i.question)).toEqual([
      'How long until my refund is paid back?',
      'refund',
    ]);
  });

  it('should scan only the newest handoffs of the period and say it left some out', async () => {
    const bot = await t.newChatbot();
    const questions = Array.from(
      { length: TURNS_SCANNED_MAX + 1 },
      (_, i) => `Is product number ${i} vegan?`,
    );
    seedHandoffs(t.deps.db, bot, questions, at('08:00'));
    const { body } = await t.unanswered(bot, DAY);
    expect(body.truncated).toBe(true);
    const examples = body.groups.flatMap((g) => g.examples);
    expect(body.groups.reduce((n, g) => n + g.count, 0)).toBe(TURNS_SCANNED_MAX);
    expect(examples).not.toContain('Is product number 0 vegan?');
  });

  it("should compare, keep and show a Crisp burst's question cut to the LLM's limit", async () => {
    const bot = await t.newChatbot();
    // A Crisp turn stores its whole burst as one message; only the webhook's body limit bounds it.
    seedHandoffs(t.deps.db, bot, ['Mars? '.repeat(100_000)], at('09:00'), {
      channel: 'crisp',
      externalId: 'session_burst',
    });
    const { body } = await t.unanswered(bot, DAY);
    const [example] = body.groups[0]?.examples ?? [];
    expect(example?.length).toBe(MESSAGE_CHARS_MAX);
  });

  it('should refuse a bad period, a bad threshold and an unknown chatbot', async () => {
    const bot = await t.newChatbot();
    for (const query of [
      '?from=yesterday',
      '?from=2026-02-30T00:00:00Z',
      '?from=2026-03-01T10:00:00',
      '?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z',
      '?from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z',
      '?minTextScore=-1',
    ]) {
      const { status, body } = await t.unanswered(bot, query);
      expect({ query, status, code: body.error?.code }).toEqual({
        query,
        status: 422,
        code: 'VALIDATION_FAILED',
      });
    }
    expect((await t.unanswered('bot_nope', DAY)).status).toBe(404);
  });

  itRequiresTheAdminToken(
    () => t,
    [
      ['GET', '/api/v1/chatbots/x/insights/unanswered'],
      ['POST', '/api/v1/chatbots/x/insights/unanswered/g/qa'],
      ['DELETE', '/api/v1/chatbots/x/insights/unanswered/g'],
      ['GET', '/api/v1/chatbots/x/analytics'],
    ],
  );
});
