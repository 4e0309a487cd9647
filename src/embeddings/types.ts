// The Embedder port: turns texts into vectors. Implementations: local (transformers.js) and
// openai (any OpenAI-compatible /embeddings). `none` is represented by no embedder at all.

/** Queries and passages may be embedded differently (e5 models prefix "query: " / "passage: "). */
export type EmbedKind = 'query' | 'passage';

export interface Embedder {
  readonly provider: 'local' | 'openai';
  /** Model name as configured (directory name for local). */
  readonly model: string;
  /** Vector length; every vector this embedder returns has it. */
  readonly dimension: number;
  /** Embeds texts in order; vectors are L2-normalised. Rejects on failure (after its own retries). */
  embed(texts: string[], kind: EmbedKind, signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Identifies the vector space: vectors of two different ids must never be mixed in one index. */
export const embedderId = (e: Embedder) => `${e.provider}:${e.model}:${e.dimension}`;
