import { describe, expect, it } from 'bun:test';
import {
  chunkId,
  chunkQa,
  chunkText,
  estimateTokens,
  splitSections,
  splitSentences,
} from '../../src/knowledge/chunk.ts';
import { chunkRows } from '../../src/knowledge/chunk-rows.ts';

const sentence = (i: number) => `Sentence number ${i} talks about topic ${i} in some detail.`;
const paragraph = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => sentence(from + i)).join(' ');

const BILLING = [
  '# Billing',
  'Intro to billing.',
  '## Refunds',
  'Refunds take five days.',
  '### Partial',
  'Partial refunds too.',
  '## Invoices',
  'Invoices are monthly.',
].join('\n');

/** The index rows of one text as the only document of source `sourceId`. */
const rowsOf = (sourceId: string, text: string) =>
  chunkRows('cb', sourceId, [{ title: 'T', url: null, chunks: chunkText(text) }]);

describe('chunkText', () => {
  it('should keep the heading path with each chunk', async () => {
    const chunks = chunkText(BILLING);
    expect(chunks.map((c) => [c.headingPath, c.text])).toEqual([
      [['Billing'], 'Intro to billing.'],
      [['Billing', 'Refunds'], 'Refunds take five days.'],
      [['Billing', 'Refunds', 'Partial'], 'Partial refunds too.'],
      [['Billing', 'Invoices'], 'Invoices are monthly.'],
    ]);
    expect((await rowsOf('s1', BILLING)).map((r) => r.position)).toEqual([0, 1, 2, 3]);
  });

  it('should keep paragraphs whole when they fit and pack them together', () => {
    const text = 'First paragraph.\n\nSecond paragraph.\n\n\nThird.';
    const [only, ...rest] = chunkText(text, {
      chunkSizeTokens: 100,
      chunkOverlapTokens: 0,
    });
    expect(rest).toEqual([]);
    expect(only?.text).toBe('First paragraph.\n\nSecond paragraph.\n\nThird.');
    expect(only?.headingPath).toEqual([]);
  });

  it('should never exceed the target size and split long paragraphs at sentence ends', () => {
    const text = [paragraph(0, 30), paragraph(30, 30)].join('\n\n');
    const chunks = chunkText(text, { chunkSizeTokens: 60, chunkOverlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks) {
      expect(estimateTokens(c.text)).toBeLessThanOrEqual(60);
      expect(c.text.endsWith('.')).toBe(true);
    }
    // Without overlap every sentence appears exactly once, in order.
    const joined = chunks.map((c) => c.text).join(' ');
    for (let i = 0; i < 60; i++) expect(joined.split(sentence(i)).length).toBe(2);
  });

  it('should repeat the tail of the previous chunk as overlap', () => {
    const text = paragraph(0, 40);
    const chunks = chunkText(text, { chunkSizeTokens: 60, chunkOverlapTokens: 20 });
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1]?.text ?? '';
      const firstSentence = (chunks[i]?.text ?? '').split(/(?<=\.)\s/)[0] ?? '';
      expect(previous.endsWith(firstSentence)).toBe(true);
    }
  });

  it('should cut a sentence with no breaks that is longer than the size', () => {
    const text = `${'x'.repeat(1000)} end.`;
    const chunks = chunkText(text, { chunkSizeTokens: 50, chunkOverlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks) expect(estimateTokens(c.text)).toBeLessThanOrEqual(50);
    expect(
      chunks
        .map((c) => c.text)
        .join('')
        .replace(/\s/g, ''),
    ).toBe(`${'x'.repeat(1000)}end.`);
  });

  it('should give stable ids that change with source, position or text', async () => {
    const a = await rowsOf('s1', 'Hello.\n\n# H\n\nWorld.');
    const b = await rowsOf('s1', 'Hello.\n\n# H\n\nWorld.');
    expect(a.map((c) => c.id)).toEqual(b.map((c) => c.id));
    expect(new Set(a.map((c) => c.id)).size).toBe(a.length);
    expect(chunkId('s1', 0, 'x')).not.toBe(chunkId('s2', 0, 'x'));
    expect(chunkId('s1', 0, 'x')).not.toBe(chunkId('s1', 1, 'x'));
    expect(chunkId('s1', 0, 'x')).not.toBe(chunkId('s1', 0, 'y'));
  });

  it('should not treat a # inside a code fence as a heading', () => {
    const sections = splitSections('# Setup\n\n```sh\n# install it\nnpm i\n```\n\nDone.');
    expect(sections).toHaveLength(1);
    expect(sections[0]?.headingPath).toEqual(['Setup']);
    expect(sections[0]?.paragraphs.join('\n')).toContain('# install it');
  });

  it('should return no chunks for blank text', () => {
    expect(chunkText('  \n\n \n')).toEqual([]);
  });
});

describe('splitSentences', () => {
  it('should split at sentence ends followed by space', () => {
    expect(splitSentences('One. Two! Three? Four', 100)).toEqual([
      'One.',
      'Two!',
      'Three?',
      'Four',
    ]);
  });
});

describe('chunkQa', () => {
  it('should keep a question and its answer in one chunk whatever its size', () => {
    const answer = paragraph(0, 200);
    const chunks = chunkQa('How do refunds work?', answer);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.text.startsWith('How do refunds work?\n\n')).toBe(true);
    expect(chunks[0]?.text.endsWith(sentence(199))).toBe(true);
  });
});
