// Recording what a job run came to: the SQL that moves a `running` row on (retry with backoff,
// done, failed, cancelled). Split from worker.ts, which decides when to record and what to do
// when storage refuses.
import type { Database } from 'bun:sqlite';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../logging.ts';
import type { JobHandler, JobOutcome, JobRow, JobState } from './types.ts';

const DEFAULT_BACKOFF = { baseMs: 1_000, capMs: 60_000 };

/**
 * Writes the outcome of one run of `row` (claimed with `attempts` already counted) and returns
 * the job's new state. A retry within `max_attempts` goes back to `pending` after
 * min(capMs, baseMs · 2^(attempt-1)) ± 25 % jitter (or the outcome's own `delayMs`, capped).
 * Throws when SQLite refuses the write; nothing is changed then.
 */
export function recordOutcome(opts: {
  db: Database;
  row: JobRow;
  handler: JobHandler<never>;
  outcome: JobOutcome;
  log: Logger;
  now: number;
  random: () => number;
  metrics?: Metrics;
}): JobState {
  const { db, row, handler, outcome, log, now } = opts;
  let state: JobState;
  if (outcome.status === 'wait') {
    db.query(
      "UPDATE jobs SET state = 'pending', attempts = attempts - 1, run_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
    ).run(Math.max(now, outcome.until), outcome.reason, now, row.id);
    log.info({ reason: outcome.reason, waitMs: outcome.until - now }, 'job waits');
    state = 'pending';
  } else if (outcome.status === 'retry' && row.attempts < row.max_attempts) {
    const { baseMs, capMs } = handler.backoff ?? DEFAULT_BACKOFF;
    const base = Math.min(capMs, baseMs * 2 ** (row.attempts - 1));
    const delay = Math.min(
      capMs,
      outcome.delayMs ?? Math.round(base * (0.75 + opts.random() * 0.5)),
    );
    db.query(
      "UPDATE jobs SET state = 'pending', run_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
    ).run(now + delay, outcome.error, now, row.id);
    log.warn({ error: outcome.error, retryInMs: delay }, 'job will be retried');
    state = 'pending';
  } else {
    state =
      outcome.status === 'done' ? 'done' : outcome.status === 'cancelled' ? 'cancelled' : 'failed';
    const error =
      outcome.status === 'retry' || outcome.status === 'failed'
        ? outcome.error
        : outcome.status === 'cancelled'
          ? outcome.reason
          : null;
    const result =
      outcome.status === 'done' && outcome.result !== undefined
        ? JSON.stringify(outcome.result)
        : null;
    db.query(
      'UPDATE jobs SET state = ?, last_error = ?, result = ?, finished_at = ?, updated_at = ? WHERE id = ?',
    ).run(state, error, result, now, now, row.id);
    if (state === 'failed') log.error({ error }, 'job failed');
  }
  opts.metrics?.inc('answerdesk_jobs_total', 'Job runs by kind and resulting state.', {
    kind: row.kind,
    state,
  });
  return state;
}
