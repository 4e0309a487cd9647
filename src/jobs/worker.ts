// The durable job queue over SQLite and the in-process worker that runs it.
//
// Guarantees: a job committed by `enqueue` survives crashes (it is a row before the caller
// answers); a `dedupeKey` is accepted once; jobs sharing a `serialKey` run one at a time in
// insertion order; a failing job is retried with capped exponential backoff and jitter up to its
// `maxAttempts`, then marked failed with the reason. Jobs left `running` by a crash are resumed
// at start, so handlers must be idempotent (record intent before side effects).
import type { Database } from 'bun:sqlite';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../logging.ts';

export type JobState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

export type Job<P = unknown> = {
  id: number;
  kind: string;
  chatbotId: string | null;
  serialKey: string | null;
  payload: P;
  state: JobState;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
};

/** What a handler reports; throwing counts as `retry` with the error's message. */
export type JobOutcome =
  | { status: 'done'; result?: unknown }
  | { status: 'retry'; error: string; delayMs?: number }
  | { status: 'failed'; error: string }
  | { status: 'cancelled'; reason: string };

export type JobContext<P> = Job<P> & { signal: AbortSignal; log: Logger };

export type JobHandler<P = unknown> = {
  run: (job: JobContext<P>) => Promise<JobOutcome | undefined>;
  /** Jobs of this kind running at once (also bounded by the worker's total). */
  concurrency?: number;
  maxAttempts?: number;
  /** Backoff after attempt n: min(capMs, baseMs · 2^(n-1)) ± 25 % jitter. */
  backoff?: { baseMs: number; capMs: number };
};

export type EnqueueOptions = {
  chatbotId?: string | null;
  /** Accepted once: a second enqueue with the same key is a no-op (`duplicate: true`). */
  dedupeKey?: string;
  /** Jobs with the same key run one at a time, oldest first. */
  serialKey?: string;
  /** Earliest start (ms since epoch); default now. */
  runAt?: number;
  maxAttempts?: number;
};

type Row = {
  id: number;
  kind: string;
  chatbot_id: string | null;
  serial_key: string | null;
  payload: string;
  state: JobState;
  attempts: number;
  max_attempts: number;
};

const DEFAULT_BACKOFF = { baseMs: 1_000, capMs: 60_000 };
const DEFAULT_MAX_ATTEMPTS = 5;
/** Even with timers armed, look for due jobs this often (covers clock jumps). */
const SAFETY_POLL_MS = 5_000;

export type WorkerOptions = {
  db: Database;
  log: Logger;
  metrics?: Metrics;
  /** Jobs running at once across all kinds. */
  concurrency: number;
  now?: () => number;
  random?: () => number;
};

export class Worker {
  private readonly handlers = new Map<string, JobHandler<never>>();
  private readonly running = new Map<
    number,
    { kind: string; serialKey: string | null; controller: AbortController; done: Promise<void> }
  >();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When `timer` fires (ms since epoch); Infinity when none is armed. */
  private timerAt = Number.POSITIVE_INFINITY;
  /** A tick is already queued for this turn of the event loop. */
  private tickQueued = false;
  private poll: ReturnType<typeof setInterval> | undefined;
  private started = false;
  private stopping = false;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: WorkerOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  register<P>(kind: string, handler: JobHandler<P>): this {
    this.handlers.set(kind, handler as JobHandler<never>);
    return this;
  }

  /** Commits a job. Returns its id, or `duplicate: true` when the dedupe key was already used. */
  enqueue<P>(
    kind: string,
    payload: P,
    options: EnqueueOptions = {},
  ): { id: number | null; duplicate: boolean } {
    const now = this.now();
    const maxAttempts =
      options.maxAttempts ?? this.handlers.get(kind)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const row = this.options.db
      .query<
        { id: number },
        [
          string,
          string | null,
          string | null,
          string | null,
          string,
          number,
          number,
          number,
          number,
        ]
      >(
        `INSERT INTO jobs (kind, chatbot_id, dedupe_key, serial_key, payload, max_attempts, run_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING id`,
      )
      .get(
        kind,
        options.chatbotId ?? null,
        options.dedupeKey ?? null,
        options.serialKey ?? null,
        JSON.stringify(payload),
        maxAttempts,
        options.runAt ?? now,
        now,
        now,
      );
    if (!row) return { id: null, duplicate: true };
    this.options.metrics?.inc('answerdesk_jobs_enqueued_total', 'Jobs committed to the queue.', {
      kind,
    });
    this.wake(options.runAt ?? now);
    return { id: row.id, duplicate: false };
  }

  /** Resumes jobs a crash left running, then starts taking work. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    const resumed = this.options.db
      .query("UPDATE jobs SET state = 'pending', updated_at = ? WHERE state = 'running'")
      .run(this.now()).changes;
    if (resumed > 0) this.options.log.warn({ resumed }, 'resuming jobs interrupted by a restart');
    this.poll = setInterval(() => this.tick(), SAFETY_POLL_MS);
    this.wake();
  }

  /** Stops taking work; aborts nothing, waits for running jobs to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.poll = undefined;
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Aborts the running jobs with this serial key (e.g. an operator started typing). */
  abortRunning(serialKey: string, reason: string): number {
    let n = 0;
    for (const r of this.running.values()) {
      if (r.serialKey === serialKey) {
        r.controller.abort(new Error(reason));
        n++;
      }
    }
    return n;
  }

  /** Marks pending jobs matching the serial key cancelled (they will not run). */
  cancelPending(serialKey: string, reason: string): number {
    return this.options.db
      .query(
        "UPDATE jobs SET state = 'cancelled', last_error = ?, finished_at = ?, updated_at = ? WHERE serial_key = ? AND state = 'pending'",
      )
      .run(reason, this.now(), this.now(), serialKey).changes;
  }

  /** Job counts by state (for ops and tests). */
  stats(): Record<JobState, number> {
    const out: Record<JobState, number> = {
      pending: 0,
      running: 0,
      done: 0,
      failed: 0,
      cancelled: 0,
    };
    for (const r of this.options.db
      .query<{ state: JobState; n: number }, []>(
        'SELECT state, COUNT(*) AS n FROM jobs GROUP BY state',
      )
      .all()) {
      out[r.state] = r.n;
    }
    return out;
  }

  /**
   * Runs until no job is pending or running. Tests call this instead of sleeping. With
   * `skipDelays` (the default) jobs scheduled for later (backoff, burst windows) are made due
   * at once, as if their time had come.
   */
  async drain({ skipDelays = true, maxRounds = 1_000 } = {}): Promise<void> {
    for (let round = 0; round < maxRounds; round++) {
      if (skipDelays) {
        this.options.db
          .query("UPDATE jobs SET run_at = ? WHERE state = 'pending' AND run_at > ?")
          .run(this.now(), this.now());
      }
      this.tick(true);
      if (this.running.size === 0) {
        const due = this.options.db
          .query<{ n: number }, [number]>(
            "SELECT COUNT(*) AS n FROM jobs WHERE state = 'pending' AND run_at <= ?",
          )
          .get(this.now());
        if (!due || due.n === 0 || !this.hasRunnable()) return;
        continue;
      }
      await Promise.race([...this.running.values()].map((r) => r.done));
    }
    throw new Error(`worker.drain: still busy after ${maxRounds} rounds`);
  }

  private hasRunnable(): boolean {
    return this.claimable(this.now(), true) !== undefined;
  }

  /**
   * Schedules a look for work: one per turn of the event loop however many jobs were enqueued,
   * and none for a job due later than the armed timer fires (the webhook's jobs wait for their
   * burst window: looking now would find nothing, at two queries per delivery).
   */
  private wake(runAt = this.now()): void {
    if (!this.started || this.stopping) return;
    if (runAt > this.now() && this.timerAt <= runAt) return;
    if (this.tickQueued) return;
    this.tickQueued = true;
    queueMicrotask(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  private slotsFor(kind: string): boolean {
    const handler = this.handlers.get(kind);
    if (!handler) return false;
    const limit = handler.concurrency ?? this.options.concurrency;
    let n = 0;
    for (const r of this.running.values()) if (r.kind === kind) n++;
    return n < limit;
  }

  /** The next job that may start now, honouring serial keys and per-kind limits. */
  private claimable(now: number, peek = false): Row | undefined {
    const kinds = [...this.handlers.keys()].filter((k) => this.slotsFor(k));
    if (kinds.length === 0) return undefined;
    const placeholders = kinds.map(() => '?').join(',');
    const row = this.options.db
      .query<Row, (string | number)[]>(
        `SELECT id, kind, chatbot_id, serial_key, payload, state, attempts, max_attempts FROM jobs j
         WHERE state = 'pending' AND run_at <= ? AND kind IN (${placeholders})
           AND (serial_key IS NULL OR NOT EXISTS (
             SELECT 1 FROM jobs k WHERE k.serial_key = j.serial_key
               AND (k.state = 'running' OR (k.state = 'pending' AND k.id < j.id))))
         ORDER BY run_at, id LIMIT 1`,
      )
      .get(now, ...kinds);
    if (peek || !row) return row ?? undefined;
    this.options.db
      .query(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, updated_at = ? WHERE id = ?",
      )
      .run(now, now, row.id);
    return { ...row, attempts: row.attempts + 1 };
  }

  /** Starts as many due jobs as the limits allow, then arms a timer for the next one. */
  private tick(force = false): void {
    if ((!this.started || this.stopping) && !force) return;
    try {
      while (this.running.size < this.options.concurrency) {
        const row = this.claimable(this.now());
        if (!row) break;
        this.launch(row);
      }
      this.arm();
    } catch (error) {
      // Called from timers and finished jobs: a storage error thrown here would end the process.
      // The safety poll looks again.
      this.options.log.error({ err: error }, 'worker could not look for due jobs');
    }
  }

  private arm(): void {
    if (!this.started || this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const next = this.options.db
      .query<{ at: number | null }, []>(
        "SELECT MIN(run_at) AS at FROM jobs WHERE state = 'pending'",
      )
      .get();
    if (next?.at == null) return;
    const delay = Math.max(0, Math.min(next.at - this.now(), SAFETY_POLL_MS));
    if (delay === 0 && this.running.size >= this.options.concurrency) return;
    this.timerAt = this.now() + Math.max(delay, 10);
    this.timer = setTimeout(() => this.tick(), Math.max(delay, 10));
  }

  private launch(row: Row): void {
    const handler = this.handlers.get(row.kind)!;
    const controller = new AbortController();
    const log = this.options.log.child({ jobId: row.id, kind: row.kind, attempt: row.attempts });
    const job: JobContext<never> = {
      id: row.id,
      kind: row.kind,
      chatbotId: row.chatbot_id,
      serialKey: row.serial_key,
      payload: JSON.parse(row.payload) as never,
      state: 'running',
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
      signal: controller.signal,
      log,
    };
    const done = (async () => {
      let outcome: JobOutcome;
      try {
        outcome = (await handler.run(job)) ?? { status: 'done' };
      } catch (e) {
        outcome = { status: 'retry', error: e instanceof Error ? e.message : String(e) };
      }
      try {
        this.finish(row, handler, outcome, log);
      } catch (error) {
        // Storage refused the write (disk full, locked past busy_timeout). The row stays
        // `running`, so the next start resumes the job; a rejection here would be unhandled and
        // end the process.
        log.error(
          { err: error },
          'could not record the job outcome; it runs again after a restart',
        );
      }
    })().finally(() => {
      this.running.delete(row.id);
      this.tick();
    });
    this.running.set(row.id, { kind: row.kind, serialKey: row.serial_key, controller, done });
  }

  private finish(row: Row, handler: JobHandler<never>, outcome: JobOutcome, log: Logger): void {
    const now = this.now();
    const db = this.options.db;
    let state: JobState;
    if (outcome.status === 'retry' && row.attempts < row.max_attempts) {
      const { baseMs, capMs } = handler.backoff ?? DEFAULT_BACKOFF;
      const base = Math.min(capMs, baseMs * 2 ** (row.attempts - 1));
      const delay = Math.min(
        capMs,
        outcome.delayMs ?? Math.round(base * (0.75 + this.random() * 0.5)),
      );
      db.query(
        "UPDATE jobs SET state = 'pending', run_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
      ).run(now + delay, outcome.error, now, row.id);
      log.warn({ error: outcome.error, retryInMs: delay }, 'job will be retried');
      state = 'pending';
    } else {
      state =
        outcome.status === 'done'
          ? 'done'
          : outcome.status === 'cancelled'
            ? 'cancelled'
            : 'failed';
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
    this.options.metrics?.inc('answerdesk_jobs_total', 'Job runs by kind and resulting state.', {
      kind: row.kind,
      state,
    });
  }

  /** Deletes finished jobs older than `ageMs` (their dedupe keys expire with them). */
  purgeFinished(ageMs: number): number {
    return this.options.db
      .query("DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND finished_at < ?")
      .run(this.now() - ageMs).changes;
  }
}
