// The durable job queue over SQLite and the in-process worker that runs it.
//
// Guarantees: a job committed by `enqueue` survives crashes (it is a row before the caller
// answers); a `dedupeKey` is accepted once; jobs sharing a `serialKey` run one at a time in
// insertion order; a failing job is retried with capped exponential backoff and jitter up to its
// `maxAttempts`, then marked failed with the reason. Jobs left `running` by a crash are resumed
// at start, so handlers must be idempotent (record intent before side effects). When SQLite
// cannot write (disk full), nothing new is claimed until a probe write passes, and an outcome
// that could not be recorded is kept in memory and recorded as soon as it can be: the job is
// never left `running` until a restart.
import type { Database } from 'bun:sqlite';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../logging.ts';
import { WriteHealth } from '../storage/sqlite/write-health.ts';
import { recordOutcome } from './outcomes.ts';
import type {
  EnqueueOptions,
  JobContext,
  JobHandler,
  JobOutcome,
  JobRow,
  JobState,
} from './types.ts';

const DEFAULT_MAX_ATTEMPTS = 5;
/** Even with timers armed, look for due jobs this often (covers clock jumps). */
const SAFETY_POLL_MS = 5_000;
/** An outcome storage refused is recorded again after 1 s, doubling up to this. */
const RECORD_RETRY_CAP_MS = 30_000;

/** A run whose outcome is not in SQLite yet (storage refused it); its row is still `running`. */
type Unrecorded = {
  row: JobRow;
  handler: JobHandler<never>;
  outcome: JobOutcome;
  log: Logger;
  tries: number;
  retryAt: number;
};

export type WorkerOptions = {
  db: Database;
  log: Logger;
  metrics?: Metrics;
  /** Jobs running at once across all kinds. */
  concurrency: number;
  now?: () => number;
  random?: () => number;
  /** Whether SQLite can write (shared with /readyz); one over `db` by default. */
  storage?: WriteHealth;
};

export class Worker {
  private readonly handlers = new Map<string, JobHandler<never>>();
  private readonly running = new Map<
    number,
    { row: JobRow; handler: JobHandler<never>; controller: AbortController; done: Promise<void> }
  >();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When `timer` fires (ms since epoch); Infinity when none is armed. */
  private timerAt = Number.POSITIVE_INFINITY;
  /** A tick is already queued for this turn of the event loop. */
  private tickQueued = false;
  private poll: ReturnType<typeof setInterval> | undefined;
  private started = false;
  private stopping = false;
  private readonly unrecorded = new Map<number, Unrecorded>();
  private readonly now: () => number;
  private readonly random: () => number;
  readonly storage: WriteHealth;

  constructor(private readonly options: WorkerOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.storage = options.storage ?? new WriteHealth(options.db, options.log, this.now);
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
    const row = this.write(() =>
      this.options.db
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
        ),
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
    // Outcomes a previous stop could not record: their rows are reset below and run again.
    this.unrecorded.clear();
    const resumed = this.options.db
      .query("UPDATE jobs SET state = 'pending', updated_at = ? WHERE state = 'running'")
      .run(this.now()).changes;
    if (resumed > 0) this.options.log.warn({ resumed }, 'resuming jobs interrupted by a restart');
    this.poll = setInterval(() => this.tick(), SAFETY_POLL_MS);
    this.wake();
  }

  /** Stops taking work; aborts the running jobs of `abortOnStop` kinds, waits for every running job. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.poll = undefined;
    this.abortWhere((r) => r.handler.abortOnStop === true, 'the service is stopping');
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.recordUnrecorded(true);
    if (this.unrecorded.size > 0) {
      this.options.log.warn(
        { jobs: this.unrecorded.size },
        'job outcomes not recorded at stop (storage refused); those jobs run again at the next start',
      );
    }
  }

  /** Aborts the running jobs with this serial key (e.g. an operator started typing). */
  abortRunning(serialKey: string, reason: string): number {
    return this.abortWhere((r) => r.row.serial_key === serialKey, reason);
  }

  /** Aborts the running jobs of one kind for one chatbot (disconnected, deleted); returns how many. */
  abortRunningOf(kind: string, chatbotId: string, reason: string): number {
    return this.abortWhere((r) => r.row.kind === kind && r.row.chatbot_id === chatbotId, reason);
  }

  private abortWhere(
    match: (run: { row: JobRow; handler: JobHandler<never> }) => boolean,
    reason: string,
  ): number {
    let n = 0;
    for (const r of this.running.values()) {
      if (!match(r)) continue;
      r.controller.abort(new Error(reason));
      n++;
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
   * Runs until no job is pending or running, or until storage refuses writes (then it returns
   * with the work left for when space is back). Tests call this instead of sleeping. With
   * `skipDelays` (the default) jobs scheduled for later (backoff, burst windows), the next write
   * probe and outcomes waiting to be recorded are made due at once, as if their time had come.
   */
  async drain({ skipDelays = true, maxRounds = 1_000 } = {}): Promise<void> {
    for (let round = 0; round < maxRounds; round++) {
      if (skipDelays && this.storage.writable({ force: true })) {
        // Recorded first, so a retry they schedule is made due below.
        this.recordUnrecorded(true);
        try {
          this.options.db
            .query("UPDATE jobs SET run_at = ? WHERE state = 'pending' AND run_at > ?")
            .run(this.now(), this.now());
        } catch (error) {
          if (!this.storage.report(error)) throw error;
        }
      }
      this.tick(true, skipDelays);
      if (this.running.size === 0) {
        if (this.storage.failure) return;
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
    for (const r of this.running.values()) if (r.row.kind === kind) n++;
    return n < limit;
  }

  /** The next job that may start now, honouring serial keys and per-kind limits. */
  private claimable(now: number, peek = false): JobRow | undefined {
    const kinds = [...this.handlers.keys()].filter((k) => this.slotsFor(k));
    if (kinds.length === 0) return undefined;
    const placeholders = kinds.map(() => '?').join(',');
    const row = this.options.db
      .query<JobRow, (string | number)[]>(
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

  /** Runs `write`; a storage failure it throws is reported (claiming pauses) and rethrown. */
  private write<T>(write: () => T): T {
    try {
      return write();
    } catch (error) {
      this.storage.report(error);
      throw error;
    }
  }

  /**
   * Records waiting outcomes, starts as many due jobs as the limits allow, then arms a timer for
   * the next one. While storage refuses writes, it only probes (when due, or at once with `now`).
   */
  private tick(force = false, now = false): void {
    if ((!this.started || this.stopping) && !force) return;
    try {
      const recovering = this.storage.failure !== null;
      if (this.storage.writable({ force: now })) {
        this.recordUnrecorded(now || recovering);
        while (!this.storage.failure && this.running.size < this.options.concurrency) {
          const row = this.claimable(this.now());
          if (!row) break;
          this.launch(row);
        }
      }
      this.arm();
    } catch (error) {
      // Called from timers and finished jobs: a storage error thrown here would end the process.
      // The timer or the safety poll looks again.
      if (!this.storage.report(error)) {
        this.options.log.error({ err: error }, 'worker could not look for due jobs');
      }
      this.arm();
    }
  }

  private arm(): void {
    if (!this.started || this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    // While storage refuses writes, only the next probe is worth waking for.
    const wakeAt = this.storage.failure
      ? [this.storage.nextProbeAt]
      : [...this.unrecorded.values()].map((u) => u.retryAt);
    if (!this.storage.failure) {
      const next = this.options.db
        .query<{ at: number | null }, []>(
          "SELECT MIN(run_at) AS at FROM jobs WHERE state = 'pending'",
        )
        .get();
      // A due job waiting for a slot starts when a running one finishes (that ticks).
      const full = this.running.size >= this.options.concurrency;
      if (next?.at != null && !(full && next.at <= this.now())) wakeAt.push(next.at);
    }
    if (wakeAt.length === 0) return;
    const delay = Math.max(0, Math.min(Math.min(...wakeAt) - this.now(), SAFETY_POLL_MS));
    this.timerAt = this.now() + Math.max(delay, 10);
    this.timer = setTimeout(() => this.tick(), Math.max(delay, 10));
  }

  private launch(row: JobRow): void {
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
        // A write the disk refused inside the handler pauses claiming too, until space is back.
        this.storage.report(e);
        outcome = { status: 'retry', error: e instanceof Error ? e.message : String(e) };
      }
      this.record({ row, handler, outcome, log, tries: 0, retryAt: 0 });
    })().finally(() => {
      this.running.delete(row.id);
      this.tick();
    });
    this.running.set(row.id, { row, handler, controller, done });
  }

  /**
   * Records a run's outcome. When storage refuses (disk full, locked past busy_timeout), the
   * outcome waits in memory and is recorded again with backoff; its row stays `running`
   * meanwhile, so neither the job nor its serial key is claimed twice. A throw here would be an
   * unhandled rejection and end the process.
   */
  private record(u: Unrecorded): boolean {
    try {
      recordOutcome({
        db: this.options.db,
        row: u.row,
        handler: u.handler,
        outcome: u.outcome,
        log: u.log,
        now: this.now(),
        random: this.random,
        metrics: this.options.metrics,
      });
      this.unrecorded.delete(u.row.id);
      if (u.tries > 0) u.log.info({ tries: u.tries + 1 }, 'job outcome recorded after a retry');
      return true;
    } catch (error) {
      this.storage.report(error);
      u.tries++;
      u.retryAt = this.now() + Math.min(RECORD_RETRY_CAP_MS, 1_000 * 2 ** (u.tries - 1));
      if (u.tries === 1) {
        u.log.error({ err: error }, 'could not record the job outcome; retrying');
      }
      this.unrecorded.set(u.row.id, u);
      return false;
    }
  }

  /** Records the waiting outcomes that are due (all with `now`); stops at the first refusal. */
  private recordUnrecorded(now: boolean): void {
    for (const u of [...this.unrecorded.values()]) {
      if (!now && this.now() < u.retryAt) continue;
      if (!this.record(u)) return;
    }
  }

  /** Deletes finished jobs older than `ageMs` (their dedupe keys expire with them). */
  purgeFinished(ageMs: number): number {
    return this.options.db
      .query("DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND finished_at < ?")
      .run(this.now() - ageMs).changes;
  }
}
