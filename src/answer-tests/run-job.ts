// Test runs as durable jobs (`answer-tests.run`): started by an admin or by a source refresh that
// changed content, one at a time per chatbot; the sources whose refresh started a run show it
// (`lastTestRun`), and failures after a refresh are logged.
import type { Database } from 'bun:sqlite';
import type { AnswerDeps } from '../answers/answer.ts';
import { findChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import type { JobContext, JobHandler, JobOutcome } from '../jobs/types.ts';
import type { Worker } from '../jobs/worker.ts';
import type { Logger } from '../logging.ts';
import { setLastTestRun, updateLastTestRun } from '../sources/service.ts';
import type { ContentRefreshed } from '../sources/types.ts';
import type { RunStatus, RunTrigger } from './model.ts';
import { runTests } from './run.ts';
import { countTests, testSpecs } from './service.ts';
import {
  activeRuns,
  addRunSource,
  finishRun,
  getRun,
  insertRun,
  markRunning,
  runState,
} from './store.ts';

export const TEST_RUN_JOB = 'answer-tests.run';
export type TestRunPayload = { runId: string };

/** What runs need: the database, the clock, the queue, the answer pipeline, the log. */
export type AnswerTestsDeps = {
  db: Database;
  clock: Clock;
  log: Logger;
  worker: Worker;
  answers: AnswerDeps;
};

/** Runs of one chatbot run one after another. */
const serialKeyOf = (chatbotId: string) => `answer-tests:${chatbotId}`;

/**
 * Starts a run of the chatbot's tests, or joins one. An admin's request gets the chatbot's newest
 * queued or running run when there is one (one run per chatbot at a time). A refresh joins a
 * queued run (it has not read the knowledge yet), else queues a new one: a running run may have
 * read the content from before the refresh.
 */
export function startRun(
  deps: AnswerTestsDeps,
  request: { chatbotId: string; trigger: RunTrigger; sourceId?: string },
): { runId: string; status: RunStatus } {
  const { db, worker } = deps;
  const { chatbotId, trigger, sourceId } = request;
  return db.transaction(() => {
    const active = activeRuns(db, chatbotId);
    const newest = active[0];
    if (trigger === 'manual' && newest) return { runId: newest.id, status: newest.status };
    const queued = active.find((r) => r.status === 'queued');
    if (trigger === 'refresh' && queued) {
      if (sourceId) addRunSource(db, queued.id, sourceId);
      return { runId: queued.id, status: queued.status };
    }
    const runId = insertRun(deps, { chatbotId, trigger, sourceIds: sourceId ? [sourceId] : [] });
    worker.enqueue<TestRunPayload>(
      TEST_RUN_JOB,
      { runId },
      { chatbotId, serialKey: serialKeyOf(chatbotId) },
    );
    return { runId, status: 'queued' as const };
  })();
}

/** What the sources that started a run show of it, from the run as stored now. */
function showOnSources(db: Database, chatbotId: string, runId: string) {
  const run = getRun(db, chatbotId, runId);
  updateLastTestRun(db, chatbotId, {
    runId,
    status: run.status,
    passed: run.passed,
    failed: run.failed,
    finishedAt: run.finishedAt,
  });
  return run;
}

/**
 * The hook a refresh that changed a source's content calls (src/deps.ts): a run starts when the
 * chatbot has tests, and the source shows it.
 */
export function runAfterRefresh(deps: AnswerTestsDeps, event: ContentRefreshed): void {
  if (countTests(deps.db, event.chatbotId) === 0) return;
  const { runId, status } = startRun(deps, {
    chatbotId: event.chatbotId,
    trigger: 'refresh',
    sourceId: event.sourceId,
  });
  setLastTestRun(deps.db, [event.sourceId], {
    runId,
    status,
    passed: 0,
    failed: 0,
    finishedAt: null,
  });
  deps.log.info(
    { chatbotId: event.chatbotId, sourceId: event.sourceId, runId, refresh: event.trigger },
    'answer tests queued after a source refresh',
  );
}

/**
 * How run jobs are scheduled: one at a time in the whole service (runs are many LLM calls, and
 * visitors come first), retried after a stop or a failure, aborted by a stop.
 */
const RUN_JOB_POLICY = {
  concurrency: 1,
  maxAttempts: 3,
  backoff: { baseMs: 30_000, capMs: 300_000 },
  abortOnStop: true,
} as const;

/**
 * The run job (registered by `registerJobs` in src/deps.ts). A stop interrupts it between LLM
 * calls; the next start goes on with the tests that have no result yet. A run whose chatbot was
 * deleted is cancelled.
 */
export function testRunJob(deps: AnswerTestsDeps): JobHandler<TestRunPayload> {
  return { ...RUN_JOB_POLICY, run: (job) => runJob(deps, job) };
}

async function runJob(deps: AnswerTestsDeps, job: JobContext<TestRunPayload>): Promise<JobOutcome> {
  const { runId } = job.payload;
  const state = runState(deps.db, runId);
  const chatbot = state && findChatbot(deps.db, state.chatbotId);
  if (!state || !chatbot) return { status: 'cancelled', reason: 'the chatbot was deleted' };
  markRunning(deps, runId);
  showOnSources(deps.db, chatbot.id, runId);
  const tests = testSpecs(deps.db, chatbot.id);
  const gone = { status: 'cancelled', reason: 'the run is gone' } as const;
  const lastAttempt = job.attempt >= job.maxAttempts;
  let finished: boolean;
  try {
    finished = await runTests(deps, { runId, chatbot, tests }, job.signal);
  } catch (err) {
    if (!runState(deps.db, runId)) return gone;
    if (!lastAttempt) throw err;
    job.log.error({ err, runId }, 'answer-test run failed');
    return fail(deps, chatbot.id, runId, 'the run failed unexpectedly (see the service log)');
  }
  if (!runState(deps.db, runId)) return gone;
  if (!finished) {
    if (!lastAttempt) return { status: 'retry', error: 'interrupted' };
    return fail(deps, chatbot.id, runId, 'interrupted too often; start the run again');
  }
  finishRun(deps, runId, { status: 'done' });
  const run = showOnSources(deps.db, chatbot.id, runId);
  if (run.failed > 0 && run.sourceIds.length > 0) {
    const failedTestIds = run.results.filter((r) => r.status === 'fail').map((r) => r.testId);
    deps.log.warn(
      { chatbotId: chatbot.id, runId, sourceIds: run.sourceIds, failed: run.failed, failedTestIds },
      'answer tests fail after a source refresh',
    );
  }
  return { status: 'done', result: { passed: run.passed, failed: run.failed } };
}

function fail(deps: AnswerTestsDeps, chatbotId: string, runId: string, error: string) {
  finishRun(deps, runId, { status: 'failed', error });
  showOnSources(deps.db, chatbotId, runId);
  return { status: 'failed' as const, error };
}
