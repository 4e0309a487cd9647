// Hybrid retrieval: a full-text leg and a vector leg, fused by reciprocal rank fusion.
import type { LanceKnowledgeStore, LegHit, StoredChunk } from './index-store.ts';
import type { LegScore } from './model.ts';
import { correctQuery } from './spell.ts';

/** Hits returned when the caller gives no limit. */
export const DEFAULT_SEARCH_LIMIT = 5;
/** RRF's k: damps the weight of the top ranks (60, the usual value: docs/notes/knowledge.md). */
export const RRF_K = 60;
/**
 * Each leg fetches `max(limit × LEG_CANDIDATES_FACTOR, LEG_CANDIDATES_MIN)` candidates, so fusion
 * can lift a chunk that one leg ranks low; more costs time (rows are materialised with their text).
 */
export const LEG_CANDIDATES_MIN = 20;
export const LEG_CANDIDATES_FACTOR = 4;

export type Hit = {
  sourceId: string;
  chunkId: string;
  title: string;
  url: string | null;
  text: string;
  /** Heading path of the chunk inside its document ('' when none). */
  heading: string;
  /** Fused score, higher is better. */
  score: number;
  explain?: { fts: LegScore | null; vector: LegScore | null };
};

export type SearchOptions = {
  chatbotId: string;
  /** The user's question: embedded for the vector leg, and matched by the full-text leg unless `lexicalQuery` is given. */
  query: string;
  /** A separate query for the full-text leg (for example the question translated into the knowledge base's language). */
  lexicalQuery?: string;
  limit?: number;
  explain?: boolean;
};

export type RankedList = { key: string; score: number }[];

export type Fused = {
  key: string;
  score: number;
  legs: (LegScore | null)[];
};

/**
 * Reciprocal rank fusion: each list contributes 1 / (k + rank) for every key it ranks (rank from
 * 1). Returns every key once, best first; ties keep the order of first appearance. `legs[i]` is
 * the key's rank and score in list i, or null.
 */
export function reciprocalRankFusion(lists: RankedList[], k = RRF_K): Fused[] {
  const fused = new Map<string, Fused>();
  lists.forEach((list, leg) => {
    list.forEach((item, i) => {
      let entry = fused.get(item.key);
      if (!entry) {
        entry = { key: item.key, score: 0, legs: lists.map(() => null) };
        fused.set(item.key, entry);
      }
      // A key listed twice in one list counts once, at its best rank.
      if (entry.legs[leg]) return;
      entry.legs[leg] = { rank: i + 1, score: item.score };
      entry.score += 1 / (k + i + 1);
    });
  });
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

/**
 * Searches one chatbot's knowledge. The full-text leg always runs (on the query with misspelt words
 * completed by their closest indexed word); the vector leg runs when the index holds vectors of the
 * configured embedder. Both legs are filtered by chatbot.
 */
export async function searchKnowledge(
  store: LanceKnowledgeStore,
  opts: SearchOptions,
  signal?: AbortSignal,
): Promise<Hit[]> {
  const limit = Math.max(1, Math.min(opts.limit ?? DEFAULT_SEARCH_LIMIT, 1000));
  // With one leg, fusion keeps its order: fetching more than `limit` would only cost time.
  const candidates = store.vectorsReady
    ? Math.max(limit * LEG_CANDIDATES_FACTOR, LEG_CANDIDATES_MIN)
    : limit;
  const typed = opts.lexicalQuery?.trim() ? opts.lexicalQuery : opts.query;
  // Typo tolerance: unknown words get their closest indexed word added (spell.ts), when the
  // chatbot's analysis has words to correct (analysis.ts); the vector leg embeds the question as typed.
  const spell = store.analysisOf(opts.chatbotId)?.spell && /[\p{L}\p{N}]/u.test(typed);
  const vocab = spell ? store.vocabulary(opts.chatbotId) : null;
  const lexical = vocab ? correctQuery(typed, vocab) : typed;
  const [fts, vector] = await Promise.all([
    store.searchText(opts.chatbotId, lexical, candidates),
    store.vectorsReady && opts.query.trim()
      ? store
          .embedQuery(opts.query, signal)
          .then((v) => (v ? store.searchVector(opts.chatbotId, v, candidates) : []))
      : Promise.resolve([] as LegHit[]),
  ]);
  const chunks = new Map<string, StoredChunk>();
  for (const h of [...fts, ...vector]) chunks.set(h.chunk.id, h.chunk);
  const toList = (hits: LegHit[]): RankedList =>
    hits.map((h) => ({ key: h.chunk.id, score: h.score }));
  return reciprocalRankFusion([toList(fts), toList(vector)])
    .slice(0, limit)
    .map((f) => {
      const c = chunks.get(f.key) as StoredChunk;
      const hit: Hit = {
        sourceId: c.sourceId,
        chunkId: c.id,
        title: c.title,
        url: c.url,
        text: c.text,
        heading: c.heading,
        score: f.score,
      };
      if (opts.explain) hit.explain = { fts: f.legs[0] ?? null, vector: f.legs[1] ?? null };
      return hit;
    });
}
