// Retrieval metrics (pure): nDCG@10 (gain = the qrel score, discount 1/log2(rank + 1), the ideal
// from every judged document), Recall@10, Recall@100 and MRR@10, over the queries with at least one
// relevant document (docs/notes/knowledge.md, Evaluation).

/** query id → (document id → graded relevance > 0). */
export type Qrels = Map<string, Map<string, number>>;
/** query id → document ids, best first (each once). */
export type Run = Map<string, string[]>;

export type Metrics = {
  ndcg10: number;
  recall10: number;
  recall100: number;
  mrr10: number;
  /** Queries scored: those with at least one relevant document. */
  queries: number;
};

/** Parses `query-id<TAB>corpus-id<TAB>score` lines (a non-numeric first line is a header). */
export function parseQrels(text: string): Qrels {
  const qrels: Qrels = new Map();
  text.split(/\r?\n/).forEach((line, n) => {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3) return;
    const [q, d, s] = fields.length === 4 ? [fields[0], fields[2], fields[3]] : fields;
    const gain = Number(s);
    if (Number.isNaN(gain)) {
      if (n === 0) return;
      throw new Error(`qrels line ${n + 1}: score is not a number`);
    }
    if (gain <= 0 || q === undefined || d === undefined) return;
    let docs = qrels.get(q);
    if (!docs) {
      docs = new Map();
      qrels.set(q, docs);
    }
    docs.set(d, gain);
  });
  return qrels;
}

/**
 * Averages the metrics over every judged query (a query missing from the run scores 0).
 * nDCG uses gain = relevance and discount 1 / log2(rank + 1), with the ideal DCG from all
 * judged documents; recall counts relevant documents found in the top 10 or 100.
 */
export function evaluateRun(qrels: Qrels, run: Run): Metrics {
  const sum = { ndcg10: 0, recall10: 0, recall100: 0, mrr10: 0 };
  for (const [q, relevant] of qrels) {
    const ranked = run.get(q) ?? [];
    let dcg = 0;
    let reciprocal = 0;
    let found10 = 0;
    let found100 = 0;
    for (let i = 0; i < Math.min(ranked.length, 100); i++) {
      const gain = relevant.get(ranked[i] ?? '') ?? 0;
      if (gain <= 0) continue;
      found100++;
      if (i < 10) {
        found10++;
        dcg += gain / Math.log2(i + 2);
        if (reciprocal === 0) reciprocal = 1 / (i + 1);
      }
    }
    const ideal = [...relevant.values()]
      .sort((a, b) => b - a)
      .slice(0, 10)
      .reduce((acc, g, i) => acc + g / Math.log2(i + 2), 0);
    sum.ndcg10 += ideal > 0 ? dcg / ideal : 0;
    sum.recall10 += found10 / relevant.size;
    sum.recall100 += found100 / relevant.size;
    sum.mrr10 += reciprocal;
  }
  const n = qrels.size;
  const mean = (x: number) => (n ? x / n : 0);
  return {
    ndcg10: mean(sum.ndcg10),
    recall10: mean(sum.recall10),
    recall100: mean(sum.recall100),
    mrr10: mean(sum.mrr10),
    queries: n,
  };
}
