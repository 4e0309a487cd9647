// The re-index job (`knowledge.reanalyse`): moves a chatbot's chunks to the full-text analysis of
// its knowledge language (analysis.ts) after the language changed, and at start for chatbots whose
// chunks are in another analysis (indexed before per-chatbot analysis, or a change a crash cut
// short). Searches answer from the old analysis until the job switches (index-store.ts reanalyse).
import type { Database } from 'bun:sqlite';
import { findChatbot } from '../chatbots/service.ts';
import { rescheduleJob } from '../jobs/schedule.ts';
import type { JobHandler } from '../jobs/types.ts';
import type { Worker } from '../jobs/worker.ts';
import { analysisFor } from './analysis.ts';
import { recordedAnalyses } from './analysis-store.ts';
import type { LanceKnowledgeStore } from './index-store.ts';

export const REANALYSE_JOB = 'knowledge.reanalyse';

type ReanalysePayload = { chatbotId: string };

export function reanalyseJob(deps: {
  db: Database;
  knowledge: LanceKnowledgeStore;
}): JobHandler<ReanalysePayload> {
  return {
    run: async (job) => {
      // Read at run time: of several changes in a row, the last one wins and the others are no-ops.
      const chatbot = findChatbot(deps.db, job.payload.chatbotId);
      if (!chatbot) return { status: 'done' };
      const target = analysisFor(chatbot.language.knowledge);
      const chunks = await deps.knowledge.reanalyse(chatbot.id, target);
      if (chunks > 0) job.log.info({ chunks, analyzer: target.key }, 'chunks re-indexed');
      return { status: 'done', result: { chunks } };
    },
  };
}

/**
 * Commits a re-index of one chatbot's chunks: one waiting job per chatbot at most (a change while
 * one waits, or another start, moves it instead of adding one; a running one reads the language
 * it started with, so a new one is queued behind it).
 */
export function enqueueReanalyse(
  db: Database,
  worker: Worker,
  chatbotId: string,
  now: number,
): void {
  rescheduleJob<ReanalysePayload>(
    db,
    worker,
    REANALYSE_JOB,
    { chatbotId },
    {
      chatbotId,
      serialKey: `${REANALYSE_JOB}:${chatbotId}`,
      dedupeKey: `${REANALYSE_JOB}:${chatbotId}`,
      runAt: now,
    },
    now,
  );
}

/** A re-index for every chatbot whose chunks are not in the analysis of its knowledge language. */
export function enqueueStaleAnalyses(db: Database, worker: Worker, now: number): void {
  for (const { chatbotId, analyzer } of recordedAnalyses(db)) {
    const chatbot = findChatbot(db, chatbotId);
    if (chatbot && analysisFor(chatbot.language.knowledge).key !== analyzer) {
      enqueueReanalyse(db, worker, chatbotId, now);
    }
  }
}
