// Answers given on weak retrieval: bot replies (not handoffs) whose best passage scored low. The
// score is the vector leg's cosine similarity when the turn had a vector leg (it measures meaning,
// on the same 0–1 scale for every question), else the full-text leg's BM25 score.
import * as v from 'valibot';
import { Provenance } from '../answers/model.ts';
import type { BotTurn } from '../conversations/questions.ts';
import type { LowConfidenceItem } from './model.ts';

/**
 * Default thresholds: below them an answer is listed. BM25 depends on the corpus (longer queries
 * and rarer words score higher); on the measurement in docs/notes/insights.md a one-word weak match
 * scored about 2.1 and matching questions 3.5–7.7. The cosine default suits bge-small-en-v1.5,
 * whose unrelated pairs score about 0.4–0.6.
 */
export const TEXT_SCORE_MIN = 3;
export const VECTOR_SCORE_MIN = 0.6;

export type ScoreMinimums = { text: number; vector: number };

const Retrieval = v.pick(Provenance, ['retrieval']);

/** The best passage's score and which leg gave it (null when nothing was retrieved). */
function topScoreOf(provenance: Record<string, unknown> | null): {
  topScore: number | null;
  scoreKind: 'vector' | 'fullText' | null;
} {
  const parsed = v.safeParse(Retrieval, provenance);
  const retrieval = parsed.success ? parsed.output.retrieval : [];
  const best = (scores: (number | undefined)[]) => {
    const present = scores.filter((s): s is number => s !== undefined);
    return present.length ? Math.max(...present) : null;
  };
  const vector = best(retrieval.map((r) => r.vector?.score));
  if (vector !== null) return { topScore: vector, scoreKind: 'vector' };
  const text = best(retrieval.map((r) => r.fts?.score));
  return text === null
    ? { topScore: null, scoreKind: null }
    : { topScore: text, scoreKind: 'fullText' };
}

/** The answered turns whose best passage scored below the minimum of its leg, or had none. */
export function lowConfidence(turns: readonly BotTurn[], min: ScoreMinimums): LowConfidenceItem[] {
  const items: LowConfidenceItem[] = [];
  for (const turn of turns) {
    const { topScore, scoreKind } = topScoreOf(turn.provenance);
    const floor = scoreKind === 'vector' ? min.vector : min.text;
    if (topScore !== null && topScore >= floor) continue;
    items.push({
      question: turn.question ?? '',
      reply: turn.reply,
      topScore,
      scoreKind,
      sessionId: turn.sessionId,
      channel: turn.channel,
      messageId: turn.messageId,
      at: turn.at,
    });
  }
  return items;
}
