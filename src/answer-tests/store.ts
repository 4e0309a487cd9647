// The `answer_test_runs` and `answer_test_results` tables, their only owner: runs queued, started
// and finished; results recorded one test at a time; reads for the routes, `changed` and the
// tests' last results. Runs are ordered by rowid (insertion order).
import type { Database } from 'bun:sqlite';
import type { AnswerUsage } from '../answers/model.ts';
import type { Clock } from '../clock.ts';
import { notFound } from '../errors.ts';
import type { Comparable } from './checks.ts';
import {
  type LastResult,
  RUNS_KEPT,
  type Run,
  type RunStatus,
  type RunSummary,
  type RunTrigger,
  type TestResult,
} from './model.ts';

export type RunsDb = { db: Database; clock: Clock };

type RunRow = {
  id: string;
  chatbot_id: string;
  status: RunStatus;
  trigger: RunTrigger;
  source_ids: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
};

type Counts = { passed: number; failed: number; costUsd: number };

const stamp = (clock: Clock) => new Date(clock.now()).toISOString();
const newRunId = () => `run_${crypto.randomUUID().replaceAll('-', '')}`;
const round = (usd: number) => Math.round(usd * 1e8) / 1e8;

function toSummary(row: RunRow, counts: Counts): RunSummary {
  return {
    runId: row.id,
    status: row.status,
    trigger: row.trigger,
    sourceIds: JSON.parse(row.source_ids) as string[],
    ...counts,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function totalsOf(results: readonly Pick<TestResult, 'status' | 'usage'>[]) {
  const usage: AnswerUsage = {
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    costUsd: 0,
    llmCalls: 0,
  };
  for (const r of results) {
    usage.promptTokens += r.usage.promptTokens;
    usage.completionTokens += r.usage.completionTokens;
    usage.totalTokens += r.usage.totalTokens;
    usage.costUsd = round(usage.costUsd + r.usage.costUsd);
    usage.llmCalls += r.usage.llmCalls;
  }
  const passed = results.filter((r) => r.status === 'pass').length;
  return { passed, failed: results.length - passed, costUsd: usage.costUsd, usage };
}

/** The runs of a chatbot that are queued or running, newest first. */
export function activeRuns(db: Database, chatbotId: string): { id: string; status: RunStatus }[] {
  return db
    .query<{ id: string; status: RunStatus }, [string]>(
      `SELECT id, status FROM answer_test_runs
       WHERE chatbot_id = ? AND status IN ('queued', 'running') ORDER BY rowid DESC`,
    )
    .all(chatbotId);
}

/** Queues a run; the oldest finished runs beyond RUNS_KEPT go (their results with them). */
export function insertRun(
  s: RunsDb,
  run: { chatbotId: string; trigger: RunTrigger; sourceIds: string[] },
): string {
  const id = newRunId();
  s.db
    .query(
      `INSERT INTO answer_test_runs (id, chatbot_id, status, trigger, source_ids, created_at)
       VALUES (?, ?, 'queued', ?, ?, ?)`,
    )
    .run(id, run.chatbotId, run.trigger, JSON.stringify(run.sourceIds), stamp(s.clock));
  s.db
    .query(
      `DELETE FROM answer_test_runs WHERE chatbot_id = ?1 AND status IN ('done', 'failed')
         AND rowid NOT IN (SELECT rowid FROM answer_test_runs WHERE chatbot_id = ?1
                           ORDER BY rowid DESC LIMIT ?2)`,
    )
    .run(run.chatbotId, RUNS_KEPT);
  return id;
}

/** Adds a source to the sources that started a queued run. */
export function addRunSource(db: Database, runId: string, sourceId: string): void {
  db.query(
    `UPDATE answer_test_runs SET source_ids = json_insert(source_ids, '$[#]', ?2)
     WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM json_each(source_ids) WHERE value = ?2)`,
  ).run(runId, sourceId);
}

/** What the job needs to know of a run, or null when it is gone (its chatbot was deleted). */
export function runState(
  db: Database,
  runId: string,
): { chatbotId: string; status: RunStatus; sourceIds: string[] } | null {
  const row = db.query<RunRow, [string]>('SELECT * FROM answer_test_runs WHERE id = ?').get(runId);
  if (!row) return null;
  return {
    chatbotId: row.chatbot_id,
    status: row.status,
    sourceIds: JSON.parse(row.source_ids) as string[],
  };
}

export function markRunning(s: RunsDb, runId: string): void {
  s.db
    .query(
      `UPDATE answer_test_runs SET status = 'running', error = NULL,
         started_at = COALESCE(started_at, ?) WHERE id = ?`,
    )
    .run(stamp(s.clock), runId);
}

export function finishRun(
  s: RunsDb,
  runId: string,
  outcome: { status: 'done' } | { status: 'failed'; error: string },
): void {
  s.db
    .query('UPDATE answer_test_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?')
    .run(outcome.status, outcome.status === 'failed' ? outcome.error : null, stamp(s.clock), runId);
}

/** Records one test's result; nothing when the test was deleted meanwhile. */
export function insertResult(db: Database, runId: string, result: TestResult): void {
  db.query(
    `INSERT OR REPLACE INTO answer_test_results (run_id, test_id, status, result)
     SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM answer_tests WHERE id = ?2)`,
  ).run(runId, result.testId, result.status, JSON.stringify(result));
}

function resultsOf(db: Database, runId: string): TestResult[] {
  return db
    .query<{ result: string }, [string]>(
      'SELECT result FROM answer_test_results WHERE run_id = ? ORDER BY rowid',
    )
    .all(runId)
    .map((r) => JSON.parse(r.result) as TestResult);
}

/** Tests of the run that have a result already (a resumed run skips them). */
export function doneTestIds(db: Database, runId: string): Set<string> {
  return new Set(
    db
      .query<{ test_id: string }, [string]>(
        'SELECT test_id FROM answer_test_results WHERE run_id = ?',
      )
      .all(runId)
      .map((r) => r.test_id),
  );
}

/** This test's result in the latest finished run before `runId` that ran it, or null. */
export function previousResult(db: Database, runId: string, testId: string): Comparable | null {
  const row = db
    .query<{ result: string }, [string, string]>(
      `SELECT r.result FROM answer_test_results r JOIN answer_test_runs run ON run.id = r.run_id
       WHERE r.test_id = ?2 AND run.status IN ('done', 'failed')
         AND run.rowid < (SELECT rowid FROM answer_test_runs WHERE id = ?1)
       ORDER BY run.rowid DESC LIMIT 1`,
    )
    .get(runId, testId);
  return row ? (JSON.parse(row.result) as Comparable) : null;
}

export function getRun(db: Database, chatbotId: string, runId: string): Run {
  const row = db
    .query<RunRow, [string, string]>(
      'SELECT * FROM answer_test_runs WHERE id = ? AND chatbot_id = ?',
    )
    .get(runId, chatbotId);
  if (!row) throw notFound('Run');
  const results = resultsOf(db, runId);
  const { usage, ...counts } = totalsOf(results);
  return { ...toSummary(row, counts), usage, results };
}

/** A chatbot's runs, newest first (at most RUNS_KEPT finished ones are kept), counted in SQL. */
export function listRuns(db: Database, chatbotId: string): RunSummary[] {
  type Counted = RunRow & Counts;
  return db
    .query<Counted, [string]>(
      `SELECT run.*,
         (SELECT COUNT(*) FROM answer_test_results r WHERE r.run_id = run.id AND r.status = 'pass') AS passed,
         (SELECT COUNT(*) FROM answer_test_results r WHERE r.run_id = run.id AND r.status = 'fail') AS failed,
         (SELECT TOTAL(json_extract(r.result, '$.usage.costUsd')) FROM answer_test_results r
          WHERE r.run_id = run.id) AS costUsd
       FROM answer_test_runs run WHERE run.chatbot_id = ? ORDER BY run.rowid DESC`,
    )
    .all(chatbotId)
    .map(({ passed, failed, costUsd, ...row }) =>
      toSummary(row, { passed, failed, costUsd: round(costUsd) }),
    );
}

/** Each test's result in the latest finished run that ran it (one test with `testId`). */
export function lastResults(
  db: Database,
  chatbotId: string,
  testId?: string,
): Map<string, LastResult> {
  const rows = db
    .query<
      { test_id: string; run_id: string; status: 'pass' | 'fail'; result: string; at: string },
      [string, string | null]
    >(
      `SELECT test_id, run_id, status, result, at FROM (
         SELECT r.test_id, r.run_id, r.status, r.result, run.finished_at AS at,
           ROW_NUMBER() OVER (PARTITION BY r.test_id ORDER BY run.rowid DESC) AS n
         FROM answer_test_results r JOIN answer_test_runs run ON run.id = r.run_id
         WHERE run.chatbot_id = ?1 AND run.status IN ('done', 'failed')
           AND (?2 IS NULL OR r.test_id = ?2))
       WHERE n = 1`,
    )
    .all(chatbotId, testId ?? null);
  return new Map(
    rows.map((r) => [
      r.test_id,
      {
        runId: r.run_id,
        status: r.status,
        reasons: (JSON.parse(r.result) as TestResult).reasons,
        finishedAt: r.at,
      },
    ]),
  );
}
