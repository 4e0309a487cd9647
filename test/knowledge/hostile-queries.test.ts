// No query string may make a search fail: quotes, operators, punctuation, emoji, very long input,
// through the search route and the playground, against an index whose FTS index holds the rows.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { type ChatApp, chat, chatApp } from '../answers/setup.ts';
import { type FakeGroq, startFakeGroq } from '../helpers/fake-groq.ts';

let groq: FakeGroq;
let t: ChatApp;

beforeAll(async () => {
  groq = await startFakeGroq();
  t = await chatApp(groq);
  // Merge the rows into the full-text index: before this they are scanned flat, and phrase
  // queries only failed on indexed rows.
  await t.deps.knowledge.settle();
  const table = await t.deps.lance.openTable(t.deps.knowledge.tableName);
  const fts = (await table.listIndices()).find((i) => i.columns.includes('fts_en'));
  const stats = await table.indexStats(fts?.name ?? '');
  table.close();
  expect(stats?.numIndexedRows).toBeGreaterThan(0);
  expect(stats?.numUnindexedRows).toBe(0);
});
afterAll(async () => {
  await t.close();
  await groq.stop();
});

/** The cases reported, and the syntax full-text engines give meaning to. */
const KNOWN = [
  '"refunds"',
  '"a" "b"',
  '" OR ""="',
  '"refunds paid"',
  '"refunds',
  'refunds"',
  '""',
  '"',
  "'refunds'",
  'refunds OR shipping',
  'refunds AND NOT shipping',
  'NOT',
  'OR',
  '+refunds -shipping',
  'refund*',
  '*',
  'refunds~2',
  'refunds^3',
  '(refunds OR (shipping',
  ')',
  'title:refunds',
  'search_text:"refunds"',
  '[a TO z]',
  '{a TO z}',
  '\\',
  '\\"refunds\\"',
  'refunds\\',
  '/regex.*/',
  '?!.,;:',
  '   ',
  '',
  'the of and to',
  '🤖💸📦',
  'refunds 💸',
  'l’été — naïve café',
  'パスワード 退款',
  'refunds\u0000shipping',
  '\u200b\u200d',
  `"${'refunds '.repeat(450)}"`,
  `${'parcel shipping canada '.repeat(170)}`.slice(0, 4_000),
];

const FRAGMENTS = [
  '"',
  "'",
  '""',
  'OR',
  'AND',
  'NOT',
  '+',
  '-',
  '*',
  '~',
  '~1',
  '^2',
  '(',
  ')',
  ':',
  'title:',
  '\\',
  '[',
  ']',
  '{',
  '}',
  '!',
  '?',
  '&&',
  '||',
  '/',
  '💸',
  'é',
  'refunds',
  'Refund',
  'parcel',
  'shipping',
  'canada',
  'warehouse',
  'refnds',
  'the',
  '12',
];

/** Deterministic pseudo-random queries made of the fragments above (a seeded LCG). */
function hostileQueries(count: number, seed = 7): string[] {
  let s = seed;
  const next = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const separators = ['', ' ', '  ', '\t', '\n'];
  return Array.from({ length: count }, () => {
    const parts = Array.from(
      { length: 1 + next(8) },
      () => `${FRAGMENTS[next(FRAGMENTS.length)]}${separators[next(separators.length)]}`,
    );
    return parts.join('');
  });
}

describe('search with hostile queries', () => {
  it('should answer 200 with a list of hits for every query on the search route', async () => {
    const failures: string[] = [];
    for (const query of [...KNOWN, ...hostileQueries(300)]) {
      const res = await t.request(`/api/v1/chatbots/${t.chatbotId}/search`, {
        method: 'POST',
        json: { query },
      });
      const body = (await res.json()) as { hits?: unknown };
      if (res.status !== 200 || !Array.isArray(body.hits)) {
        failures.push(`${JSON.stringify(query.slice(0, 60))} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('should find the documents holding the words of a quoted phrase', async () => {
    for (const query of ['"refunds"', '"refunds paid"', '"Refunds are paid back"', '"refunds']) {
      const res = await t.request(`/api/v1/chatbots/${t.chatbotId}/search`, {
        method: 'POST',
        json: { query },
      });
      const { hits } = (await res.json()) as { hits: { title: string }[] };
      expect(hits[0]?.title).toBe('Refund policy');
    }
  });

  it('should never hand off with reason "error" in the playground, whatever the message', async () => {
    const failures: string[] = [];
    for (const message of [...KNOWN, ...hostileQueries(30, 11)]) {
      // The playground refuses a blank message (422) before any search.
      if (!message.trim()) continue;
      const { status, body } = await chat(t, { message });
      if (status !== 200 || body.reason === 'error') {
        failures.push(`${JSON.stringify(message.slice(0, 60))} → ${status} ${body.reason}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('should ground a quoted question in the passage that holds its words', async () => {
    const { body } = await chat(t, { message: '"refunds"' });
    expect(body.reason).not.toBe('error');
    expect(body.sources.map((s) => s.title)).toContain('Refund policy');
  });
});
