// Prints how well each similarity threshold separates the labelled question pairs of
// test/insights/paraphrases.ts (same question / different question): precision, recall and F1 of
// "grouped together", lexically (character trigrams of the content words) and, when the
// environment configures an embedder (EMBEDDING_PROVIDER, EMBEDDING_MODEL, DATA_DIR), by cosine.
// `bun run bench:grouping`
import { loadConfig } from '../src/config.ts';
import { createEmbedder } from '../src/embeddings/index.ts';
import {
  cosine,
  jaccard,
  LEXICAL_SIMILARITY_MIN,
  trigrams,
  VECTOR_SIMILARITY_MIN,
} from '../src/insights/similarity.ts';
import { createLogger } from '../src/logging.ts';
import { DIFFERENT, SAME } from '../test/insights/paraphrases.ts';

function table(label: string, same: number[], different: number[], chosen: number, from: number) {
  console.log(`\n${label}: ${same.length} same pairs, ${different.length} different pairs`);
  console.log('threshold  precision  recall  F1    merged-by-mistake');
  for (let t = from; t <= 0.951; t += 0.05) {
    const tp = same.filter((s) => s >= t).length;
    const fp = different.filter((s) => s >= t).length;
    const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
    const recall = tp / same.length;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    const mark = Math.abs(t - chosen) < 1e-9 ? '  ← chosen' : '';
    console.log(
      `${t.toFixed(2).padEnd(11)}${precision.toFixed(2).padEnd(11)}${recall.toFixed(2).padEnd(8)}` +
        `${f1.toFixed(2).padEnd(6)}${fp}${mark}`,
    );
  }
}

const lexical = ([a, b]: [string, string]) => jaccard(trigrams(a), trigrams(b));
table(
  'lexical (trigram Jaccard)',
  SAME.map(lexical),
  DIFFERENT.map(lexical),
  LEXICAL_SIMILARITY_MIN,
  0.2,
);

const config = loadConfig();
const embedder = await createEmbedder(config, createLogger('silent'));
if (!embedder) {
  console.log('\nvectors: no embedder configured (EMBEDDING_PROVIDER=none), skipped');
} else {
  const texts = [...new Set([...SAME, ...DIFFERENT].flat())];
  const vectors = await embedder.embed(texts, 'query');
  const of = new Map(texts.map((t, i) => [t, vectors[i] as Float32Array]));
  const score = ([a, b]: [string, string]) => cosine(of.get(a)!, of.get(b)!);
  table(
    `vectors (${embedder.provider}:${embedder.model})`,
    SAME.map(score),
    DIFFERENT.map(score),
    VECTOR_SIMILARITY_MIN,
    0.5,
  );
}
