// A deterministic fake Embedder: hashed bag of words (lower-cased word → bucket), L2-normalised.
// Texts that share words get similar vectors, so vector search behaves plausibly in tests and benches.
import type { Embedder, EmbedKind } from '../../src/embeddings/types.ts';

export class FakeEmbedder implements Embedder {
  readonly provider = 'openai' as const;
  calls = 0;
  embedded = 0;
  /** When set, embed() rejects with it (to test failure paths). */
  failWith: Error | null = null;
  /** When set, embed() waits for it (to interleave other work with an ingestion). */
  gate: Promise<void> | null = null;
  /** When set, embed() calls it first (something that happens while a text is embedded). */
  onEmbed: (() => void) | null = null;

  constructor(
    readonly dimension = 384,
    readonly model = 'fake-hash',
  ) {}

  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dimension);
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
      let h = 2166136261;
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
      const bucket = (h >>> 0) % this.dimension;
      v[bucket] = (v[bucket] ?? 0) + ((h & 1) === 0 ? 1 : -1);
    }
    let norm = 0;
    for (const x of v) norm += x * x;
    if (norm === 0) v[0] = 1;
    else for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / Math.sqrt(norm);
    return v;
  }

  async embed(texts: string[], _kind: EmbedKind): Promise<Float32Array[]> {
    this.calls++;
    this.onEmbed?.();
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    this.embedded += texts.length;
    return texts.map((t) => this.embedOne(t));
  }
}
