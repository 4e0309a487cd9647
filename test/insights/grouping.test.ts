// The grouping, pure: the lexical similarity and its threshold on labelled paraphrases, where a
// question goes (open groups, groups closed after it was asked), and the representative question.
import { describe, expect, it } from 'bun:test';
import { type Placed, placeQuestions, representativeIndex } from '../../src/insights/grouping.ts';
import {
  type Comparable,
  contentWords,
  jaccard,
  LEXICAL_SIMILARITY_MIN,
  similarity,
  trigrams,
} from '../../src/insights/similarity.ts';
import { DIFFERENT, SAME } from './paraphrases.ts';

const lexical = (text: string): Comparable => ({ grams: trigrams(text), vector: null });
const score = ([a, b]: [string, string]) => jaccard(trigrams(a), trigrams(b));

describe('similarity', () => {
  it('should compare content words, stemmed, without accents or stop words', () => {
    expect(contentWords('Do you ship to Montréal?')).toEqual(['ship', 'montreal']);
    expect(contentWords('Shipping refunds')).toEqual(['ship', 'refund']);
    expect(score(['Can I pay with bitcoin?', 'can i pay with BITCOINS'])).toBe(1);
    // Nothing but stop words: nothing to compare, never a match.
    expect(score(['How do I?', 'How do I?'])).toBe(0);
  });

  it('should keep every different pair apart and group at least half of the same pairs at the chosen threshold', () => {
    const merged = DIFFERENT.filter((pair) => score(pair) >= LEXICAL_SIMILARITY_MIN);
    const grouped = SAME.filter((pair) => score(pair) >= LEXICAL_SIMILARITY_MIN);
    expect(merged).toEqual([]);
    expect(grouped.length / SAME.length).toBeGreaterThanOrEqual(0.5);
  });

  it('should use the vectors when both questions have one', () => {
    const a = { grams: trigrams('Do you deliver to Mars?'), vector: new Float32Array([1, 0]) };
    const b = {
      grams: trigrams('Shipping to the red planet?'),
      vector: new Float32Array([1, 0.1]),
    };
    expect(similarity(a, b).similar).toBe(true);
    expect(similarity(a, { ...b, vector: null }).similar).toBe(false);
  });
});

describe('placeQuestions', () => {
  const placed = (groupId: string, text: string, state: Partial<Placed> = {}): Placed => ({
    groupId,
    askedAt: '2026-03-01T09:00:00.000Z',
    comparable: lexical(text),
    open: true,
    closedAt: null,
    ...state,
  });
  const arriving = (messageId: string, text: string, askedAt: string) => ({
    messageId,
    askedAt,
    comparable: lexical(text),
  });
  let n = 0;
  const newId = () => `new${++n}`;

  it('should join an open group, or a group closed after the question was asked, and never one closed before', () => {
    const closed = { open: false, closedAt: '2026-03-01T12:00:00.000Z' };
    const { groupOf, created } = placeQuestions(
      [placed('mars', 'Do you deliver to Mars?', closed), placed('btc', 'Can I pay with bitcoin?')],
      [
        arriving('m1', 'Can you deliver to Mars?', '2026-03-01T11:00:00.000Z'),
        arriving('m2', 'Can you deliver to Mars?', '2026-03-01T13:00:00.000Z'),
        arriving('m3', 'Do you deliver to Mars?', '2026-03-01T14:00:00.000Z'),
        arriving('b1', 'Can I pay with bitcoins?', '2026-03-01T10:00:00.000Z'),
      ],
      newId,
    );
    expect(created).toEqual([{ id: 'new1', createdAt: '2026-03-01T13:00:00.000Z' }]);
    // m3 joins the group m2 started in the same call.
    expect(Object.fromEntries(groupOf)).toEqual({ m1: 'mars', m2: 'new1', m3: 'new1', b1: 'btc' });
  });

  it('should pick the most representative question, the first on a tie', () => {
    const q = [
      'Do you deliver to Mars?',
      'Can you deliver parcels to Mars?',
      'Can you deliver parcels to planet Mars?',
    ];
    expect(representativeIndex(q.map(lexical))).toBe(1);
    expect(representativeIndex(['Hi there?', 'Hello?'].map(lexical))).toBe(0);
  });
});
