// Typo tolerance for the full-text leg (pure): a query word that is not in the chatbot's indexed
// vocabulary gets its closest indexed word (one edit away) added to the full-text query.
//
// Why a query-side correction and not LanceDB's fuzzy match: in LanceDB 0.39 a fuzzy MatchQuery
// compares the *unstemmed* query word with the *stemmed* index terms ("making" never reaches
// "make"), so a fuzzy leg is a noisy ranker. Measured on perturbed copies of the eval sets
// (docs/notes/knowledge.md, "Typo tolerance"): an always-on fuzzy leg fused by RRF lowers clean
// stackfaq nDCG@10 from 0.775 to 0.712–0.741, and a fuzzy leg gated on unknown words still loses on
// clean queries; this correction lifts stackfaq typos 0.703 → 0.768 and scifact typos 0.654 →
// 0.695 with clean queries unchanged (0.775 → 0.776, 0.692 → 0.690).

/** Only words this long are corrected: short words have too many neighbours one edit away. */
export const SPELL_MIN_WORD_LENGTH = 5;
/** Edits allowed (insert, delete, substitute, swap two neighbours). Two edits pick wrong words. */
export const SPELL_MAX_EDITS = 1;

/** Indexed words with the number of chunks holding them, bucketed for the neighbour search. */
export type Vocabulary = {
  /** word → document frequency (chunks containing it). */
  df: Map<string, number>;
  /** `${first letter}${length}` → words: a neighbour shares the first letter and is ±1 long. */
  buckets: Map<string, string[]>;
};

/**
 * Words as LanceDB's analyzer splits them before stemming ("simple" tokenizer, lowercase, ASCII
 * folding): runs of letters and digits.
 */
export function vocabularyWords(text: string): string[] {
  // Fast path (most knowledge bases): nothing to fold.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  if (/^[\x00-\x7f]*$/.test(text))
    return text
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean);
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** Counts the words of one indexed text into `df` (one per text, like a document frequency). */
export function countWords(df: Map<string, number>, text: string): void {
  for (const w of new Set(vocabularyWords(text))) df.set(w, (df.get(w) ?? 0) + 1);
}

/** Builds the vocabulary of the given indexed texts. */
export function buildVocabulary(texts: Iterable<string>): Vocabulary {
  const df = new Map<string, number>();
  for (const text of texts) countWords(df, text);
  return vocabularyOf(df);
}

/** Buckets counted words for `closestWord`. */
export function vocabularyOf(df: Map<string, number>): Vocabulary {
  const buckets = new Map<string, string[]>();
  for (const w of df.keys()) {
    if (w.length < SPELL_MIN_WORD_LENGTH - SPELL_MAX_EDITS) continue;
    const key = `${w[0]}${w.length}`;
    const bucket = buckets.get(key);
    if (bucket) bucket.push(w);
    else buckets.set(key, [w]);
  }
  return { df, buckets };
}

/**
 * True when a and b are at most one edit apart (optimal string alignment: insertion, deletion,
 * substitution or transposition of two adjacent letters).
 */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    // substitution, or a swap of two neighbours
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  const [long, short] = a.length > b.length ? [a, b] : [b, a];
  return long.slice(i + 1) === short.slice(i);
}

/**
 * Scripts written without spaces between words (or, for Hangul, indexed as character bigrams):
 * a "word" of theirs is a whole clause, one edit from another clause, never a typo.
 */
const UNSPACED_SCRIPTS =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * The indexed word closest to `word` (one edit, same first letter), the most frequent one when
 * several are; null when `word` is indexed, too short, holds a digit (codes, versions), is in a
 * script without spaces between words or has no neighbour.
 */
export function closestWord(word: string, vocab: Vocabulary): string | null {
  if (word.length < SPELL_MIN_WORD_LENGTH || vocab.df.has(word) || /\p{N}/u.test(word)) {
    return null;
  }
  if (UNSPACED_SCRIPTS.test(word)) return null;
  let best: string | null = null;
  let bestDf = 0;
  for (let len = word.length - SPELL_MAX_EDITS; len <= word.length + SPELL_MAX_EDITS; len++) {
    for (const candidate of vocab.buckets.get(`${word[0]}${len}`) ?? []) {
      if (!withinOneEdit(word, candidate)) continue;
      const df = vocab.df.get(candidate) ?? 0;
      if (df > bestDf || (df === bestDf && best !== null && candidate < best)) {
        best = candidate;
        bestDf = df;
      }
    }
  }
  return best;
}

/**
 * The full-text query with a correction appended after each unknown word ("githun markdwn" →
 * "githun github markdwn markdown"); the user's word stays, in case it is indexed in a form our
 * tokenizer does not see. Returns the query unchanged when nothing was corrected.
 */
export function correctQuery(query: string, vocab: Vocabulary): string {
  let changed = false;
  const out = query.replace(/[\p{L}\p{M}\p{N}]+/gu, (token) => {
    const word = vocabularyWords(token)[0];
    const fix = word ? closestWord(word, vocab) : null;
    if (!fix) return token;
    changed = true;
    return `${token} ${fix}`;
  });
  return changed ? out : query;
}
