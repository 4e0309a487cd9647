// The composition root: every client and store of the process is built here, once, and every job
// kind is registered here. Features never import this file; each declares the narrow deps type it
// needs (e.g. `ChatbotRouteDeps`), and `AppDeps` satisfies all of them.
import type { Database } from 'bun:sqlite';
import { join } from 'node:path';
import { runAfterRefresh, TEST_RUN_JOB, testRunJob } from './answer-tests/run-job.ts';
import type { AnswerDeps } from './answers/answer.ts';
import type { Chatbot } from './chatbots/model.ts';
import { listChatbots } from './chatbots/service.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { callsOfDay, countCall } from './crisp/api-calls.ts';
import { type CrispCall, type CrispClient, HttpCrispClient } from './crisp/client.ts';
import { ConnectionStore } from './crisp/connections.ts';
import { replyJob } from './crisp/reply-job.ts';
import { REPLY_JOB, serialKeyOf } from './crisp/webhook.ts';
import { createEmbedder, embeddingReadiness, modelsDirOf } from './embeddings/index.ts';
import type { Embedder } from './embeddings/types.ts';
import type { ReadinessCheck, RetrievalStatus } from './http/health.ts';
import { Metrics } from './http/metrics.ts';
import { ExtractorPool, extractorOptions } from './ingest/extractor.ts';
import { loadSettings } from './ingest/load.ts';
import { Worker } from './jobs/worker.ts';
import { analysisFor } from './knowledge/analysis.ts';
import { LanceKnowledgeStore } from './knowledge/index-store.ts';
import { knowledgeReadiness } from './knowledge/readiness.ts';
import {
  enqueueReanalyse,
  enqueueStaleAnalyses,
  REANALYSE_JOB,
  reanalyseJob,
} from './knowledge/reanalyse-job.ts';
import { searchKnowledge } from './knowledge/search.ts';
import { createLlmClient } from './llm/groq-client.ts';
import { LLM_PROBE_TIMEOUT_MS, LlmProbe } from './llm/probe.ts';
import type { LlmClient } from './llm/types.ts';
import type { Logger } from './logging.ts';
import { autoPullOffReason, ModelAutoPull } from './models/auto-pull.ts';
import { type CatalogModel, DEFAULT_HUB_URL } from './models/catalog.ts';
import { syncDefaultPlan } from './plans/service.ts';
import { fetchJob } from './sources/fetch-job.ts';
import { FETCH_JOB, forgetChatbotSources } from './sources/fetched.ts';
import { recoverSourcesOnStart } from './sources/inline.ts';
import { RefreshScheduler } from './sources/schedule.ts';
import type { SourcesDeps } from './sources/types.ts';
import { type LanceConnection, openLance } from './storage/lancedb/db.ts';
import { openDatabase } from './storage/sqlite/db.ts';
import { GroupCommit } from './storage/sqlite/group-commit.ts';
import { WriteHealth } from './storage/sqlite/write-health.ts';

export type AppDeps = {
  config: Config;
  log: Logger;
  /** The one wall clock: stored times, quota periods, mutes, Crisp turns, job schedules. */
  clock: Clock;
  db: Database;
  /**
   * Commits of the webhook's writes, one transaction per turn of the event loop; the WAL
   * checkpointer holds it back for a moment when the WAL should start over.
   */
  commits: GroupCommit;
  /** Whether SQLite can write (disk full → /readyz 503, the worker pauses claiming). */
  storage: WriteHealth;
  lance: LanceConnection;
  /** The embedder built at start; null when EMBEDDING_PROVIDER=none (until `modelAutoPull` switches `knowledge`). */
  embedder: Embedder | null;
  /** The chunk index (one LanceDB table handle per process): sources, search. */
  knowledge: LanceKnowledgeStore;
  /** The LLM (Groq); without GROQ_API_KEY every call fails fast and the bot hands off. */
  llm: LlmClient;
  /** Pulls the default embedding model in the background when none is set up (serve() starts it). */
  modelAutoPull: ModelAutoPull;
  /** Whether LLM calls can work (models list at start and every few minutes; serve() starts it). */
  llmProbe: LlmProbe;
  metrics: Metrics;
  /** The durable job queue; `registerJobs` registers every job kind on it. */
  worker: Worker;
  /** The Crisp REST API (CRISP_API_URL). */
  crisp: CrispClient;
  /** The chatbots' Crisp connections, credentials sealed with SECRET_KEY. */
  connections: ConnectionStore;
  /** The answer pipeline's dependencies: the playground and the Crisp reply turn share them. */
  answers: AnswerDeps;
  /** Knowledge sources: their table, the chunk index, uploads, fetch settings, the extractor. */
  sources: SourcesDeps;
  /** Queues the due refreshes of url and sitemap sources; serve() starts it, tests `tick()` it. */
  refreshScheduler: RefreshScheduler;
  /** What /readyz says of search: hybrid or full-text only, and the start-up model pull. */
  retrieval: () => RetrievalStatus;
  /** Extra /readyz checks (embeddings, chunk index; tests add theirs). */
  readinessChecks: (() => Promise<ReadinessCheck>)[];
  /** Clean-ups outside the chatbot's SQLite rows run before the row is deleted. */
  onChatbotDelete: ((chatbotId: string) => Promise<void> | void)[];
  /** Run after a chatbot's settings changed (`PATCH …/chatbots/:id`). */
  onChatbotUpdate: ((before: Chatbot, after: Chatbot) => void)[];
  /** Run when an admin takes a conversation away from the bot (`POST …/pause`). */
  onConversationPause: ((chatbotId: string, sessionId: string) => void)[];
  /**
   * Stop hooks run on SIGTERM/SIGINT after the server stopped accepting requests and in-flight
   * ones finished, before storage closes; last registered runs first (a worker stops here).
   */
  onShutdown: (() => Promise<void> | void)[];
  /** Runs the stop hooks (last registered first, a failing one logged), then closes storage. */
  close: () => Promise<void>;
};

/** Opens storage and builds every dependency of the process from the configuration. */
export async function buildDeps(
  config: Config,
  log: Logger,
  /**
   * Test seams: a deterministic fake embedder instead of the configured one, a pinned clock, the
   * auto-pull's catalog (models of a fake hub) and jitter.
   */
  overrides: {
    embedder?: Embedder | null;
    clock?: Clock;
    autoPull?: { catalog?: readonly CatalogModel[]; random?: () => number };
  } = {},
): Promise<AppDeps> {
  const clock = overrides.clock ?? systemClock;
  const db = openDatabase(join(config.DATA_DIR, 'answerdesk.sqlite'));
  const lance = await openLance(config.DATA_DIR);
  // Loads the local model (or probes the remote endpoint) now: a bad setup fails at start.
  const embedder =
    overrides.embedder !== undefined
      ? overrides.embedder
      : await createEmbedder(config, log.child({ component: 'embeddings' }));
  const knowledge = await LanceKnowledgeStore.open({
    conn: lance,
    db,
    log: log.child({ component: 'knowledge' }),
    embedder,
    clock,
  });
  const metrics = new Metrics();
  const now = () => clock.now();
  const storage = new WriteHealth(db, log.child({ component: 'storage' }), now);
  // The default plan follows this start's configuration (DEFAULT_MONTHLY_MESSAGES, …).
  syncDefaultPlan(db, config, new Date(clock.now()));
  const worker = new Worker({
    db,
    log: log.child({ component: 'worker' }),
    metrics,
    concurrency: config.WORKER_CONCURRENCY,
    storage,
    now,
  });
  const llm = createLlmClient(config, log.child({ component: 'llm' }));
  const crispLog = log.child({ component: 'crisp' });
  /** Every Crisp call spends the token's daily quota: counted in SQLite per chatbot and day. */
  const onCrispCall = (call: CrispCall) => {
    metrics.inc('answerdesk_crisp_api_calls_total', 'Crisp REST calls made, by route and result.', {
      route: call.route,
      result: call.refused ? 'refused' : call.status === 200 ? 'ok' : 'error',
    });
    try {
      countCall(db, call.creds.chatbotId, new Date(clock.now()), call.refused);
    } catch (err) {
      // A chatbot deleted while its call was in flight (its counters went with it), a full disk.
      crispLog.warn({ err }, 'crisp call not counted');
    }
  };
  metrics.gauge(
    'answerdesk_crisp_api_calls_today',
    'Crisp REST calls made today (UTC) per chatbot: a plugin token may make 5,000 a day by default.',
    () =>
      callsOfDay(db, new Date(clock.now())).map(({ chatbotId, calls }) => ({
        labels: { chatbot_id: chatbotId },
        value: calls,
      })),
  );
  const sourcesLog = log.child({ component: 'sources' });
  const sources: SourcesDeps = {
    db,
    clock,
    knowledge,
    log: sourcesLog,
    storage,
    dataDir: config.DATA_DIR,
    uploadLimitBytes: config.UPLOAD_LIMIT_BYTES,
    loading: loadSettings(config),
    // Starts extractor processes on first use only: a command that reads no document starts none.
    extractor: new ExtractorPool(extractorOptions(config, sourcesLog)),
    // A refresh that changed content starts the answer tests (pushed below, once `deps` exists).
    onContentRefreshed: [],
  };
  // Text and Q&A sources a crash or a full disk left `indexing`: failed now, and again whenever
  // writes pass after a failure.
  recoverSourcesOnStart(sources);
  // Chunks not in the analysis of their chatbot's knowledge language (indexed before per-chatbot
  // analysis, or a change a crash cut short) are re-indexed in the background.
  enqueueStaleAnalyses(db, worker, clock.now());
  const deps: AppDeps = {
    config,
    log,
    clock,
    db,
    commits: new GroupCommit(db),
    storage,
    lance,
    embedder,
    knowledge,
    llm,
    modelAutoPull: new ModelAutoPull({
      offReason: autoPullOffReason(config, knowledge),
      installed: () => knowledge.embedder,
      modelsDir: modelsDirOf(config),
      hubUrl: config.MODEL_HUB_URL ?? DEFAULT_HUB_URL,
      knowledgeLanguages: () => listChatbots(db).map((c) => c.language.knowledge),
      useEmbedder: (next) => knowledge.useEmbedder(next),
      clock,
      log: log.child({ component: 'embeddings' }),
      ...overrides.autoPull,
    }),
    llmProbe: new LlmProbe({
      target: {
        baseUrl: config.GROQ_BASE_URL ?? 'https://api.groq.com',
        apiKey: config.GROQ_API_KEY,
        model: config.GROQ_MODEL,
        timeoutMs: LLM_PROBE_TIMEOUT_MS,
      },
      intervalMs: config.LLM_PROBE_INTERVAL_SECONDS * 1000,
      now,
      log: log.child({ component: 'llm' }),
    }),
    metrics,
    worker,
    crisp: new HttpCrispClient({
      baseUrl: config.CRISP_API_URL ?? 'https://api.crisp.chat',
      timeoutMs: config.CRISP_TIMEOUT_MS,
      onCall: onCrispCall,
    }),
    connections: new ConnectionStore(db, config.SECRET_KEY),
    answers: {
      db,
      config,
      clock,
      log: log.child({ component: 'answers' }),
      llm,
      metrics,
      retrieve: (query, signal) => searchKnowledge(knowledge, { ...query, explain: true }, signal),
    },
    sources,
    refreshScheduler: new RefreshScheduler({ sources, worker }),
    retrieval: () => ({
      retrieval: knowledge.vectorsReady ? 'hybrid' : 'fulltext',
      modelPull: deps.modelAutoPull.status(),
    }),
    readinessChecks: [
      ...(embedder ? [embeddingReadiness(embedder)] : []),
      knowledgeReadiness(knowledge),
    ],
    onChatbotDelete: [
      (chatbotId) => knowledge.deleteChatbot(chatbotId),
      // Its kept uploads and waiting ingestions go with it.
      (chatbotId) => forgetChatbotSources(sources, worker, chatbotId),
      // The connection, inbox, turns and jobs go with the chatbot (SQLite cascades); a turn
      // running now must not post with the credentials it already holds.
      (chatbotId) => {
        worker.abortRunningOf(REPLY_JOB, chatbotId, 'the chatbot was deleted');
        worker.abortRunningOf(TEST_RUN_JOB, chatbotId, 'the chatbot was deleted');
      },
    ],
    // A new knowledge language re-indexes the chatbot's chunks; searches use the old analysis meanwhile.
    onChatbotUpdate: [
      (before, after) => {
        const from = analysisFor(before.language.knowledge).key;
        if (from !== analysisFor(after.language.knowledge).key)
          enqueueReanalyse(db, worker, after.id, clock.now());
      },
    ],
    // A reply being written now, or waiting for its window, would talk over the human.
    onConversationPause: [
      (chatbotId, sessionId) => {
        worker.abortRunning(serialKeyOf(chatbotId, sessionId), 'paused by an admin');
      },
    ],
    // The worker's stop runs first (last registered): it interrupts ingestions and waits for the
    // running jobs; then no extractor process outlives the service, and the chunk index closes.
    onShutdown: [
      () => knowledge.close(),
      () => sources.extractor.close(),
      () => worker.stop(),
      () => deps.llmProbe.stop(),
      () => deps.refreshScheduler.stop(),
      // First of all: a download stops at once; a re-embed under way finishes before the index closes.
      () => deps.modelAutoPull.stop(),
    ],
    close: async () => {
      for (const hook of [...deps.onShutdown].reverse()) {
        try {
          await hook();
        } catch (err) {
          log.error({ err }, 'a stop hook failed');
        }
      }
      lance.close();
      db.close();
    },
  };
  sources.onContentRefreshed.push((event) => runAfterRefresh(deps, event));
  return deps;
}

/**
 * Registers every job kind on the worker. Called once per process before `worker.start()`: by
 * `serve()` and by the test app; a command that runs no jobs (`answerdesk ingest` indexes in its
 * own process, without the queue) does not need it.
 */
export function registerJobs(deps: AppDeps): void {
  deps.worker
    .register(REPLY_JOB, replyJob(deps))
    .register(FETCH_JOB, fetchJob(deps.sources))
    .register(TEST_RUN_JOB, testRunJob(deps))
    .register(REANALYSE_JOB, reanalyseJob(deps));
}
