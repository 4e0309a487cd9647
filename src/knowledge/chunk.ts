// Chunking: splits a document on markdown headings, paragraphs and sentences (pure, no I/O).

/** Target chunk size, in estimated tokens (see `estimateTokens`). Chosen on the eval sets
 * (docs/notes/knowledge.md). */
export const DEFAULT_CHUNK_SIZE_TOKENS = 500;
/** Tail of the previous chunk repeated at the head of the next one, in estimated tokens. */
export const DEFAULT_CHUNK_OVERLAP_TOKENS = 50;

export type ChunkSettings = { chunkSizeTokens: number; chunkOverlapTokens: number };

export const DEFAULT_CHUNK_SETTINGS: ChunkSettings = {
  chunkSizeTokens: DEFAULT_CHUNK_SIZE_TOKENS,
  chunkOverlapTokens: DEFAULT_CHUNK_OVERLAP_TOKENS,
};

/** A chunk of a document, in document order (its id and position are given when it is indexed). */
export type Chunk = {
  /** Headings above the chunk, outermost first (empty when the document has none). */
  headingPath: string[];
  text: string;
};

/**
 * A cheap, model-independent token estimate: about four characters per token for English
 * subword vocabularies. Chunk sizes are named in these units so they read like the usual
 * "~500 tokens" without tying chunking to one embedding model's tokenizer.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Stable chunk id: sha256 over source id, position and text (32 hex characters). */
export function chunkId(sourceId: string, index: number, text: string): string {
  const hash = new Bun.CryptoHasher('sha256')
    .update(`${sourceId}\n${index}\n${text}`)
    .digest('hex');
  return `ck_${hash.slice(0, 32)}`;
}

type Section = { headingPath: string[]; paragraphs: string[] };

const HEADING = /^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$/;

/** Splits text into sections at markdown-style headings, each with its paragraphs. */
export function splitSections(text: string): Section[] {
  const sections: Section[] = [];
  const path: { level: number; title: string }[] = [];
  let current: Section = { headingPath: [], paragraphs: [] };
  let paragraph: string[] = [];
  let inFence = false;
  const flushParagraph = () => {
    const p = paragraph.join('\n').trim();
    if (p) current.paragraphs.push(p);
    paragraph = [];
  };
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    // Code fences are kept whole: a "#" inside them is a comment, not a heading.
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const heading = inFence ? null : HEADING.exec(line);
    if (heading) {
      flushParagraph();
      if (current.paragraphs.length > 0) sections.push(current);
      const level = heading[1]?.length ?? 1;
      while (path.length > 0 && (path.at(-1)?.level ?? 0) >= level) path.pop();
      path.push({ level, title: heading[2] ?? '' });
      current = { headingPath: path.map((h) => h.title), paragraphs: [] };
    } else if (!inFence && line.trim() === '') {
      flushParagraph();
    } else {
      paragraph.push(line);
    }
  }
  flushParagraph();
  if (current.paragraphs.length > 0) sections.push(current);
  return sections;
}

// A sentence ends at . ! ? (or their CJK forms) followed by whitespace; abbreviations such as
// "e.g. foo" may split early, which only costs a slightly earlier boundary.
const SENTENCE_END = /(?<=[.!?。！？])\s+(?=\S)/u;

/** Splits a paragraph into sentences; a sentence longer than `maxTokens` is cut at word breaks. */
export function splitSentences(paragraph: string, maxTokens: number): string[] {
  const out: string[] = [];
  for (const sentence of paragraph.split(SENTENCE_END)) {
    if (estimateTokens(sentence) <= maxTokens) {
      if (sentence.trim()) out.push(sentence.trim());
      continue;
    }
    let piece = '';
    for (const word of sentence.split(/\s+/)) {
      const next = piece ? `${piece} ${word}` : word;
      if (piece && estimateTokens(next) > maxTokens) {
        out.push(piece);
        piece = word;
      } else {
        piece = next;
      }
      // A single "word" longer than the limit (a URL, base64) is cut by characters.
      while (estimateTokens(piece) > maxTokens) {
        out.push(piece.slice(0, maxTokens * 4));
        piece = piece.slice(maxTokens * 4);
      }
    }
    if (piece) out.push(piece);
  }
  return out;
}

/** The trailing units of `units` whose size fits in `overlapTokens`. */
function tail(units: string[], overlapTokens: number): string[] {
  const out: string[] = [];
  let size = 0;
  for (let i = units.length - 1; i >= 0; i--) {
    const unit = units[i] ?? '';
    size += estimateTokens(unit) + 1;
    if (size > overlapTokens) break;
    out.unshift(unit);
  }
  return out;
}

/**
 * Packs one section's paragraphs into chunks of at most `chunkSizeTokens`. Paragraphs stay
 * whole when they fit; longer ones are split into sentences. A chunk that follows another in
 * the same section starts with the previous one's last sentences, up to `chunkOverlapTokens`.
 */
function packSection(section: Section, settings: ChunkSettings): string[] {
  const size = Math.max(16, settings.chunkSizeTokens);
  const overlap = Math.min(Math.max(0, settings.chunkOverlapTokens), Math.floor(size / 2));
  const chunks: string[] = [];
  // Units are paragraphs or sentences; `joiners[i]` is what separates unit i from unit i-1.
  let units: string[] = [];
  let joiners: string[] = [];
  let tokens = 0;
  let fresh = 0; // units added since the last flush (overlap units are not fresh)
  const flush = () => {
    if (fresh === 0) return;
    chunks.push(units.map((u, i) => (i === 0 ? u : `${joiners[i]}${u}`)).join(''));
    const kept = overlap > 0 ? tail(units, overlap) : [];
    joiners = joiners.slice(units.length - kept.length);
    units = kept;
    tokens = kept.reduce((n, u) => n + estimateTokens(u) + 1, 0);
    fresh = 0;
  };
  const add = (unit: string, joiner: string) => {
    const cost = estimateTokens(unit) + 1;
    if (fresh > 0 && tokens + cost > size) flush();
    // Overlap that would leave no room for the new unit is dropped.
    while (units.length > 0 && tokens + cost > size) {
      tokens -= estimateTokens(units.shift() ?? '') + 1;
      joiners.shift();
    }
    units.push(unit);
    joiners.push(joiner);
    tokens += cost;
    fresh++;
  };
  for (const paragraph of section.paragraphs) {
    if (estimateTokens(paragraph) + 1 <= size) {
      add(paragraph, '\n\n');
      continue;
    }
    splitSentences(paragraph, size - 1).forEach((sentence, i) => {
      add(sentence, i === 0 ? '\n\n' : ' ');
    });
  }
  flush();
  return chunks;
}

/**
 * Splits a document's text into chunks that keep their heading path. Pure and deterministic; runs
 * in the extractor process for fetched documents (src/sources/reader-process.ts).
 */
export function chunkText(text: string, settings: ChunkSettings = DEFAULT_CHUNK_SETTINGS): Chunk[] {
  const out: Chunk[] = [];
  for (const section of splitSections(text)) {
    for (const body of packSection(section, settings)) {
      out.push({ headingPath: section.headingPath, text: body });
    }
  }
  return out;
}

/** A question and its answer as one chunk, never split, whatever its size. */
export function chunkQa(question: string, answer: string): Chunk[] {
  return [{ headingPath: [], text: `${question.trim()}\n\n${answer.trim()}` }];
}
