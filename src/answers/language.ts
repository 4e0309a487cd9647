// A cheap language guess for the visitor's message: enough to decide whether the full-text leg
// needs a translated query. Pure; unknown when unsure (then no translation call is made).

const SCRIPTS: [RegExp, string][] = [
  [/[\u0400-\u04ff]/g, 'ru'],
  [/[\u0600-\u06ff]/g, 'ar'],
  [/[\u0590-\u05ff]/g, 'he'],
  [/[\u0370-\u03ff]/g, 'el'],
  [/[\u3040-\u30ff]/g, 'ja'],
  [/[\uac00-\ud7af]/g, 'ko'],
  [/[\u4e00-\u9fff]/g, 'zh'],
  [/[\u0900-\u097f]/g, 'hi'],
  [/[\u0e00-\u0e7f]/g, 'th'],
];

/** Frequent short words; a message in these languages almost always holds a few. */
const STOPWORDS: Record<string, string[]> = {
  en: 'the a an is are do does can i you my your how what when where why which to of for in on with and or not it this that be have has please hello hi thanks'.split(
    ' ',
  ),
  fr: 'le la les un une des est sont je tu vous mon ma mes votre vos comment quoi quand où pourquoi quel quelle pour dans avec et ou pas ce cette il elle bonjour merci est-ce puis-je du au aux'.split(
    ' ',
  ),
  de: 'der die das ein eine ist sind ich du sie mein meine ihr ihre wie was wann wo warum welche für mit und oder nicht es dies kann können hallo danke bitte ich habe zu auf'.split(
    ' ',
  ),
  es: 'el la los las un una es son yo tú usted mi mis su sus cómo como qué que cuándo dónde por para con y o no esto puedo hola gracias del al está'.split(
    ' ',
  ),
  it: 'il lo la gli le un una è sono io tu lei mio mia suo sua come cosa quando dove perché quale per con e o non questo posso ciao grazie del della'.split(
    ' ',
  ),
  pt: 'o a os as um uma é são eu você meu minha seu sua como quê quando onde porque qual para com e ou não isto posso olá obrigado do da está'.split(
    ' ',
  ),
  nl: 'de het een is zijn ik jij u mijn uw hoe wat wanneer waar waarom welke voor met en of niet dit kan hallo bedankt alstublieft van'.split(
    ' ',
  ),
};

const STOPWORD_SETS = Object.entries(STOPWORDS).map(
  ([lang, words]) => [lang, new Set(words)] as const,
);

/**
 * Guesses the language of `text` as an ISO 639-1 code, or null when unsure (short or mixed text).
 * Non-Latin scripts decide alone; Latin text needs two stop-word hits and a clear lead.
 */
export function detectLanguage(text: string): string | null {
  const letters = text.replace(/[^\p{L}]/gu, '');
  if (letters.length === 0) return null;
  for (const [pattern, lang] of SCRIPTS) {
    const count = text.match(pattern)?.length ?? 0;
    if (count / letters.length > 0.3) return lang;
  }
  const words = text
    .toLowerCase()
    .split(/[^\p{L}'-]+/u)
    .filter(Boolean);
  const scores = STOPWORD_SETS.map(([lang, set]) => ({
    lang,
    hits: words.filter((w) => set.has(w)).length,
  })).sort((a, b) => b.hits - a.hits);
  const best = scores[0];
  const second = scores[1];
  if (!best || best.hits < 2) return null;
  if (second && best.hits - second.hits < 1) return null;
  return best.lang;
}

/** True when the two language tags share a primary language (`en-GB` ~ `en`). */
export const sameLanguage = (a: string, b: string) =>
  a.split('-')[0]?.toLowerCase() === b.split('-')[0]?.toLowerCase();

const NAMES: Record<string, string> = {
  en: 'English',
  fr: 'French',
  de: 'German',
  es: 'Spanish',
  it: 'Italian',
  pt: 'Portuguese',
  nl: 'Dutch',
  ru: 'Russian',
  ar: 'Arabic',
  he: 'Hebrew',
  el: 'Greek',
  ja: 'Japanese',
  ko: 'Korean',
  zh: 'Chinese',
  hi: 'Hindi',
  th: 'Thai',
  pl: 'Polish',
  sv: 'Swedish',
  da: 'Danish',
  no: 'Norwegian',
  fi: 'Finnish',
  tr: 'Turkish',
  uk: 'Ukrainian',
  cs: 'Czech',
};

/** A language's English name for prompts ("fr" → "French"); the tag itself when unknown. */
export const languageName = (tag: string) => NAMES[tag.split('-')[0]?.toLowerCase() ?? ''] ?? tag;
