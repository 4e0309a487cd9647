// Full-text analysis by knowledge language: which LanceDB FTS options index a chatbot's chunks and
// its queries, which segmentation of our own runs before LanceDB sees the text, and whether typo
// correction applies. Every choice is measured in docs/notes/knowledge.md ("Knowledge languages").

/** LanceDB's FTS index options that an analysis sets (see @lancedb/lancedb `FtsOptions`). */
export type FtsOptions = {
  baseTokenizer: 'simple' | 'icu';
  language: LanceLanguage;
  lowercase: boolean;
  stem: boolean;
  removeStopWords: boolean;
  customStopWords?: string[];
  asciiFolding: boolean;
  withPosition: boolean;
};

/**
 * The stemmer / stop-word languages of LanceDB 0.39, by language code. Any other name makes
 * `Index.fts()` panic and abort the whole process (docs/notes/knowledge.md), so only the values
 * of this closed table ever reach LanceDB.
 */
export const LANCE_LANGUAGES = {
  ar: 'Arabic',
  da: 'Danish',
  nl: 'Dutch',
  en: 'English',
  fi: 'Finnish',
  fr: 'French',
  de: 'German',
  el: 'Greek',
  hu: 'Hungarian',
  it: 'Italian',
  no: 'Norwegian',
  pt: 'Portuguese',
  ro: 'Romanian',
  ru: 'Russian',
  es: 'Spanish',
  sv: 'Swedish',
  ta: 'Tamil',
  tr: 'Turkish',
} as const;
export type LanceLanguage = (typeof LANCE_LANGUAGES)[keyof typeof LANCE_LANGUAGES];
type StemmerCode = keyof typeof LANCE_LANGUAGES;

/**
 * An analyzer: one per stemmer language, `cjk` (zh, ja, ko), `icu` (Thai, Lao, Khmer, Burmese),
 * `neutral` (null and every other language) and `legacy` (the English analysis of the chunks
 * indexed before per-chatbot analysis, in the `search_text` column until re-indexed).
 */
export type AnalyzerKey = StemmerCode | 'cjk' | 'icu' | 'neutral' | 'legacy';

/** Our own segmentation, applied to the indexed text and to the query before LanceDB sees them. */
export type Segmentation = 'none' | 'hangul-bigram' | 'cjk-hangul-unibigram';

export type Analysis = {
  key: AnalyzerKey;
  /** The column of the chunks table this analyzer indexes (a name from the closed key set). */
  column: string;
  fts: FtsOptions;
  segmentation: Segmentation;
  /** Typo correction of the full-text query (spell.ts): only for alphabetic scripts. */
  spell: boolean;
};

/**
 * LanceDB's built-in English list (NLTK's 179 words) minus the words that carry a visitor's
 * intent: interrogatives (how, why …), negations and the fragments the "simple" tokenizer leaves
 * of "can't" / "don't" (can, don, t …), particles of phrasal verbs (log in, top up, sign out) and
 * order / comparison words (before, after, more …). 127 words; docs/notes/knowledge.md has the
 * measurements against the full list, no list and Lucene's.
 */
export const ENGLISH_QUESTION_STOP_WORDS = (
  'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she ' +
  'her hers herself it its itself they them their theirs themselves this that these those am is ' +
  'are was were be been being have has had having do does did doing should a an the and but if or ' +
  'because as until while of at by for with about into through during to from then once here ' +
  'there all any both each other some such own so than too s will just now d ll m o re ve y ma'
).split(' ');

const BASE_FTS: FtsOptions = {
  baseTokenizer: 'simple',
  language: 'English',
  lowercase: true,
  stem: true,
  removeStopWords: true,
  asciiFolding: true,
  withPosition: false,
};

const analysis = (key: AnalyzerKey, fts: FtsOptions, rest: Partial<Analysis> = {}): Analysis => ({
  key,
  column: key === 'legacy' ? 'search_text' : `fts_${key}`,
  fts,
  segmentation: 'none',
  spell: true,
  ...rest,
});

/** Language-neutral: ICU word segmentation (zh, ja, th by dictionary), lowercase and folding only. */
const NEUTRAL_FTS: FtsOptions = {
  ...BASE_FTS,
  baseTokenizer: 'icu',
  stem: false,
  removeStopWords: false,
};

/** Stemmer languages whose LanceDB stop-word list lowered nDCG@10 (measured: ro −0.005). */
const NO_STOP_WORDS = new Set<StemmerCode>(['ro', 'ta']);
/** Languages whose LanceDB stemmer lowered nDCG@10 (measured: fr −0.02 on a help centre). */
const NO_STEMMING = new Set<StemmerCode>(['fr']);

function stemmerAnalysis(code: StemmerCode): Analysis {
  const fts: FtsOptions = {
    ...BASE_FTS,
    language: LANCE_LANGUAGES[code],
    stem: !NO_STEMMING.has(code),
    removeStopWords: !NO_STOP_WORDS.has(code),
  };
  if (code === 'en') fts.customStopWords = ENGLISH_QUESTION_STOP_WORDS;
  // The "simple" tokenizer cuts Tamil words at their vowel signs; ICU keeps them whole.
  if (code === 'ta') return analysis(code, { ...fts, baseTokenizer: 'icu' }, { spell: false });
  return analysis(code, fts);
}

/** Every analyzer by key: the closed set the chunks table may have columns for. */
export const ANALYSES: Record<AnalyzerKey, Analysis> = {
  ...(Object.fromEntries(
    Object.keys(LANCE_LANGUAGES).map((code) => [code, stemmerAnalysis(code as StemmerCode)]),
  ) as Record<StemmerCode, Analysis>),
  cjk: analysis(
    'cjk',
    { ...NEUTRAL_FTS, baseTokenizer: 'simple' },
    { segmentation: 'cjk-hangul-unibigram', spell: false },
  ),
  icu: analysis('icu', NEUTRAL_FTS, { spell: false }),
  // ICU keeps Korean words whole: Hangul bigrams lift korquad 0.84 → 0.96.
  neutral: analysis('neutral', NEUTRAL_FTS, { segmentation: 'hangul-bigram' }),
  legacy: analysis('legacy', BASE_FTS),
};

const CJK_CODES = new Set(['zh', 'ja', 'ko']);
/** Scripts written without spaces between words: ICU's dictionary segmentation splits them. */
const ICU_CODES = new Set(['th', 'lo', 'km', 'my']);
/** Codes that name a stemmer language under another code (Norwegian Bokmål and Nynorsk). */
const ALIASES: Record<string, StemmerCode> = { nb: 'no', nn: 'no' };

/** The analysis for a knowledge language code (`fr-CA` → `fr`); null or unknown → neutral. */
export function analysisFor(code: string | null | undefined): Analysis {
  const base = code?.toLowerCase().split('-')[0] ?? '';
  if (CJK_CODES.has(base)) return ANALYSES.cjk;
  if (ICU_CODES.has(base)) return ANALYSES.icu;
  const stemmer = ALIASES[base] ?? base;
  return Object.hasOwn(LANCE_LANGUAGES, stemmer)
    ? ANALYSES[stemmer as StemmerCode]
    : ANALYSES.neutral;
}

/** A recorded analyzer key read back from storage (null when it is not one of ours). */
export function analysisByKey(key: string): Analysis | null {
  return Object.hasOwn(ANALYSES, key) ? ANALYSES[key as AnalyzerKey] : null;
}

const CJK_HANGUL_RUN =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}ー\p{Script=Hangul}]+/gu;
const HANGUL_RUN = /\p{Script=Hangul}+/gu;

/**
 * Han / Kana / Hangul runs as their characters plus overlapping character bigrams, separated by
 * spaces ("北京" → " 北 京 北京 "; a lone character stays as it is); `hangul-bigram` splits Korean
 * runs only, into bigrams (for the ICU tokenizer, which segments Chinese and Japanese by
 * dictionary but keeps Korean words whole). Other text is unchanged.
 */
export function segment(text: string, mode: Segmentation): string {
  if (mode === 'none') return text;
  const unigrams = mode === 'cjk-hangul-unibigram';
  return text.replace(unigrams ? CJK_HANGUL_RUN : HANGUL_RUN, (run) => {
    const ch = [...run];
    if (ch.length === 1) return ` ${run} `;
    const grams: string[] = unigrams ? [...ch] : [];
    for (let i = 0; i + 1 < ch.length; i++) grams.push(`${ch[i]}${ch[i + 1]}`);
    return ` ${grams.join(' ')} `;
  });
}

/**
 * The column holding a chatbot's indexed text as written (typo vocabulary, re-indexing, re-embeds):
 * its analyzer column when the analysis does not change the text, so it is stored once (the
 * chatbot's `search_text` cells are then empty); `search_text` otherwise.
 */
export function rawTextColumn(a: Analysis): string {
  return a.segmentation === 'none' ? a.column : 'search_text';
}

/** What LanceDB is given to analyse, for indexed text and queries alike. */
export function prepare(text: string, a: Analysis): string {
  return segment(text, a.segmentation);
}
