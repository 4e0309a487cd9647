// Grouping by vectors when an embedder is configured: questions with no word in common grouped by
// meaning, each question embedded once (cached), re-embedded for another model, and a failing
// embedder falling back to words.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { Embedder, EmbedKind } from '../../src/embeddings/types.ts';
import { EMBEDDED_PER_READ_MAX } from '../../src/insights/questions.ts';
import { insightsApp, seedHandoffs } from './setup.ts';

/** Vectors by topic: questions about the same thing point the same way, whatever their words. */
class TopicEmbedder implements Embedder {
  readonly provider = 'openai' as const;
  readonly dimension = 4;
  /** The question texts embedded (kind `query`), in order. */
  queries: string[] = [];
  failWith: Error | null = null;
  constructor(readonly model = 'topics') {}
  async embed(texts: string[], kind: EmbedKind): Promise<Float32Array[]> {
    if (this.failWith) throw this.failWith;
    if (kind === 'query') this.queries.push(...texts);
    return texts.map((text) => {
      const topic = /mars|red planet/i.test(text) ? 0 : /bitcoin|crypto/i.test(text) ? 1 : 2;
      const v = new Float32Array(this.dimension);
      v[topic] = 1;
      v[3] = 0.1;
      return v;
    });
  }
}

const embedder = new TopicEmbedder();
let t: Awaited<ReturnType<typeof insightsApp>>;
beforeAll(async () => {
  t = await insightsApp({ embedder });
});
afterAll(() => t.close());

const DAY = '?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z';
const at = (hhmm: string) => `2026-03-01T${hhmm}:00.000Z`;

/** The question texts a call embedded. */
async function embeddedBy(work: () => Promise<unknown>): Promise<string[]> {
  const before = embedder.queries.length;
  await work();
  return embedder.queries.slice(before);
}

describe('unanswered questions with an embedder', () => {
  it('should group by meaning, embedding each question once', async () => {
    const bot = await t.newChatbot();
    await t.ask(bot, 'Do you deliver to Mars?', { at: at('09:00') });
    await t.ask(bot, 'Shipping to the red planet?', { at: at('09:10') });
    await t.ask(bot, 'Can I pay with crypto?', { at: at('09:20') });
    // Same words as the Mars question, another topic for the embedder.
    await t.ask(bot, 'Do you deliver to Venus?', { at: at('09:30') });

    let report = await t.unanswered(bot, DAY);
    expect(report.body.groups.map((g) => g.examples.sort())).toEqual([
      ['Do you deliver to Mars?', 'Shipping to the red planet?'],
      // As frequent: the most recent first.
      ['Do you deliver to Venus?'],
      ['Can I pay with crypto?'],
    ]);
    // The next read embeds nothing again; a new question is embedded alone.
    expect(await embeddedBy(async () => (report = await t.unanswered(bot, DAY)))).toEqual([]);
    expect(report.body.groups.map((g) => g.count)).toEqual([2, 1, 1]);
    await t.ask(bot, 'Do you accept bitcoin?', { at: at('10:00') });
    expect(await embeddedBy(() => t.unanswered(bot, DAY))).toEqual(['Do you accept bitcoin?']);
    const counts = (await t.unanswered(bot, DAY)).body.groups.map((g) => g.count);
    expect(counts).toEqual([2, 2, 1]);
  });

  it('should embed the grouped questions again for another model', async () => {
    const bot = await t.newChatbot();
    await t.ask(bot, 'Do you deliver to Mars?', { at: at('09:00') });
    await t.unanswered(bot, DAY);
    const other = new TopicEmbedder('topics-v2');
    t.deps.embedder = other;
    try {
      await t.ask(bot, 'Shipping to the red planet?', { at: at('09:10') });
      await t.unanswered(bot, DAY);
      expect(other.queries).toContain('Do you deliver to Mars?');
      const { body } = await t.unanswered(bot, DAY);
      expect(body.groups.map((g) => g.count)).toEqual([2]);
    } finally {
      t.deps.embedder = embedder;
    }
  });

  it('should embed at most EMBEDDED_PER_READ_MAX questions per read, the rest with the next question', async () => {
    const bot = await t.newChatbot();
    const total = EMBEDDED_PER_READ_MAX + 44;
    const questions = Array.from({ length: total }, (_, i) => `Is product number ${i} vegan?`);
    seedHandoffs(t.deps.db, bot, questions, at('08:00'));
    const first = await embeddedBy(() => t.unanswered(bot, DAY));
    expect(first.length).toBe(EMBEDDED_PER_READ_MAX);
    // The 44 left were placed by their words; the next question embeds them with itself.
    await t.ask(bot, 'Do you deliver to Mars?', { at: at('12:00') });
    const next = await embeddedBy(() => t.unanswered(bot, DAY));
    expect(next.length).toBe(45);
    expect(next[0]).toBe('Do you deliver to Mars?');
    expect(await embeddedBy(() => t.unanswered(bot, DAY))).toEqual([]);
  });

  it('should group by words when the embedder fails', async () => {
    const bot = await t.newChatbot();
    await t.ask(bot, 'Do you deliver to Mars?', { at: at('09:00') });
    await t.ask(bot, 'Can you deliver to Mars?', { at: at('09:10') });
    await t.ask(bot, 'Shipping to the red planet?', { at: at('09:20') });
    embedder.failWith = new Error('embeddings endpoint down');
    try {
      const { status, body } = await t.unanswered(bot, DAY);
      expect(status).toBe(200);
      expect(body.groups.map((g) => g.count)).toEqual([2, 1]);
    } finally {
      embedder.failWith = null;
    }
  });
});
