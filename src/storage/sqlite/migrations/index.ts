// The ordered list of schema migrations, each one's SQL in its own numbered file beside this
// one (imported as text, so the binary embeds it). Append new ones; never edit one that has
// shipped: the runner (src/storage/sqlite/db.ts) records a migration's version and name only.
import foundation from './001-foundation.sql' with { type: 'text' };
import jobs from './002-jobs.sql' with { type: 'text' };
import knowledge from './003-knowledge.sql' with { type: 'text' };
import conversations from './004-conversations.sql' with { type: 'text' };
import crisp from './005-crisp.sql' with { type: 'text' };
import quotas from './006-quotas.sql' with { type: 'text' };
import storageProbe from './007-storage-probe.sql' with { type: 'text' };
import replyTurn from './008-reply-turn.sql' with { type: 'text' };
import crispReal from './009-crisp-real.sql' with { type: 'text' };
import insights from './010-insights.sql' with { type: 'text' };
import answerTests from './011-answer-tests.sql' with { type: 'text' };
import knowledgeAnalysis from './012-knowledge-analysis.sql' with { type: 'text' };

export type Migration = { version: number; name: string; sql: string };

/** Each migration's SQL under its name, in order: a migration's version is its place here. */
const sqlByName: Record<string, string> = {
  /** Chatbots and the named quota plans they reference. */
  foundation,
  /**
   * The durable job queue. A webhook or an admin call commits a row here before it answers;
   * the worker runs it, so work survives a crash or a restart.
   */
  jobs,
  /**
   * Knowledge sources per chatbot, and the record of which embedding space the chunk index holds.
   * A source keeps the raw input needed to refresh it (`input`, JSON) and the hash of the content
   * last indexed, so an unchanged refresh is skipped.
   */
  knowledge,
  /**
   * Conversations (playground and Crisp) and their messages. `history_since` is where the history
   * the bot reads starts (a Crisp "resolved" moves it forward); `provenance` is the JSON record of
   * how a bot reply was made (queries, chunk ids and scores, model, tokens, cost, latencies).
   */
  conversations,
  /**
   * The Crisp integration: encrypted connections, the webhook inbox (dedupe and burst batches),
   * bot turns, the outbox that makes posting exactly-once, and the fingerprints of what we posted.
   */
  crisp,
  /**
   * Quotas: usage counters per chatbot and window, the reservations that can still be given back,
   * the per-conversation burst log, and the row of the default plan (its limits mirror
   * configuration; see src/plans/service.ts `syncDefaultPlan`).
   */
  quotas,
  /**
   * The row the write probe (src/storage/sqlite/write-health.ts) inserts and deletes to learn
   * whether SQLite can write again after a disk-full or I/O error.
   */
  'storage-probe': storageProbe,
  /**
   * The reply turn's own columns and the conversation list's index: `crisp_outbox.content` holds a
   * post's text beside its JSON body, so the webhook recognises our echo by content without reading
   * the JSON; the Crisp conversation list pages by channel in SQL (chatbot, channel, last
   * activity), which also serves every lookup the older (chatbot, last activity) index did.
   */
  'reply-turn': replyTurn,
  /**
   * Crisp as it really behaves (docs/notes/crisp.md): the connection remembers until when Crisp
   * refuses it (quota, rate limit) and the user id Crisp gives our own messages; a turn remembers
   * when the visitor last wrote (replies older than CRISP_MAX_REPLY_AGE_MINUTES are never posted);
   * the delivery log (every webhook delivery, no message text, bounded: 7 days and a row cap per
   * chatbot, rejected ones coalesced per minute and reason); Crisp calls counted per UTC day.
   */
  'crisp-real': crispReal,
  /**
   * Insights and analytics (docs/notes/insights.md): when each conversation was resolved (Crisp
   * `session:set_state` resolved), the unanswered-question groups with their members (a question's
   * vector cached with the model that made it), and the indexes the analytics read by: messages of
   * a conversation by role and time, and the Crisp inbox of a chatbot by arrival time.
   */
  insights,
  /**
   * Answer tests and scheduled re-sync (docs/notes/answer-tests.md). Sources get their refresh
   * interval, the scheduler's bookkeeping (when the last fetch ended, when a scheduled refresh was
   * queued and not ended yet) and the last test run a refresh started. Tests, runs and results
   * belong to their chatbot; a result goes with its run or its test. Runs and tests are ordered by
   * rowid (insertion order: a new rowid is above every existing one).
   */
  'answer-tests': answerTests,
  /**
   * Which full-text analyzer holds each chatbot's chunks (src/knowledge/analysis.ts): searches use
   * it until a re-index job switches the chatbot to the analyzer of its knowledge language. Chunks
   * indexed before per-chatbot analysis are English (`legacy`); the re-index job moves them at
   * start.
   */
  'knowledge-analysis': knowledgeAnalysis,
};

export const migrations: Migration[] = Object.entries(sqlByName).map(([name, sql], i) => ({
  version: i + 1,
  name,
  sql,
}));
