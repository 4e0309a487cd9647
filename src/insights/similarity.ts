// How alike two visitor questions are: cosine of their vectors when an embedder is configured,
// else a lexical measure (character trigrams of the content words). The thresholds and how they
// were chosen: docs/notes/insights.md.

/**
 * Two questions are grouped at or above this lexical similarity: the threshold with the best
 * precision at a useful recall on the paraphrase set (test/insights/paraphrases.ts,
 * `bun run bench:grouping`): precision 1.00, recall 0.53 there (0.50 merges export/import-like pairs).
 */
export const LEXICAL_SIMILARITY_MIN = 0.55;

/**
 * Two questions are grouped at or above this cosine similarity of their vectors. The pinned
 * models (bge-small-en-v1.5, multilingual-e5-small) put unrelated sentences around 0.4–0.75:
 * their model cards advise 0.8–0.9 to keep only near-duplicates (docs/notes/insights.md).
 */
export const VECTOR_SIMILARITY_MIN = 0.85;

// Words that say nothing about what is asked (English: the knowledge base's default language, and
// the language a translated question is compared in).
const STOP_WORDS = new Set(
  (
    'a an and any are as at be been but by can could did do does for from get got had has have ' +
    'hello hi how i if in into is it its me my no not of on or our please so than that the their ' +
    'them then there these they this to too us was we were what when where which who why will ' +
    'with would you your yours thanks thank'
  ).split(' '),
);

/** A light English stemmer: enough to meet "refunds"/"refund" and "shipping"/"ship". */
function stem(word: string): string {
  if (word.length <= 4) return word;
  for (const suffix of ['ing', 'ed', 'es', 's']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      const base = word.slice(0, -suffix.length);
      // "shipping" → "shipp" → "ship": a doubled final consonant goes too.
      return suffix === 'ing' && /(.)\1$/.test(base) ? base.slice(0, -1) : base;
    }
  }
  return word;
}

/** The content words of a question: lower case, accents off, stop words out, stemmed. */
export function contentWords(text: string): string[] {
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .match(/[\p{L}\p{N}]+/gu);
  return (words ?? []).filter((w) => !STOP_WORDS.has(w)).map(stem);
}

/** The character trigrams of the content words, each word padded ("ship" → " sh", "shi", …). */
export function trigrams(text: string): Set<string> {
  const grams = new Set<string>();
  for (const word of contentWords(text)) {
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3));
  }
  return grams;
}

/** |a ∩ b| / |a ∪ b|; 0 when both are empty (nothing to compare is not a match). */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let shared = 0;
  for (const x of small) if (large.has(x)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Cosine similarity of two vectors of the same length (not assumed normalised). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** A question ready to be compared: its trigrams, and its vector when it has one. */
export type Comparable = { grams: Set<string>; vector: Float32Array | null };

/** Whether two questions are similar enough to share a group, and how similar (0–1). */
export function similarity(a: Comparable, b: Comparable): { score: number; similar: boolean } {
  if (a.vector && b.vector && a.vector.length === b.vector.length) {
    const score = cosine(a.vector, b.vector);
    return { score, similar: score >= VECTOR_SIMILARITY_MIN };
  }
  const score = jaccard(a.grams, b.grams);
  return { score, similar: score >= LEXICAL_SIMILARITY_MIN };
}
