// The job queue's types: what handlers see and return, and the row the worker claims.
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
  /**
   * Not an attempt: back to `pending` until `until` (ms since epoch), attempts not counted and no
   * backoff cap (e.g. Crisp's daily quota is used up; the handler decides when to give up).
   */
  | { status: 'wait'; reason: string; until: number }
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
  /**
   * `stop()` aborts running jobs of this kind (their signal) instead of only waiting for them: a
   * long crawl must not hold a shutdown. The handler's outcome (e.g. `retry`) resumes it at the
   * next start.
   */
  abortOnStop?: boolean;
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

export type JobRow = {
  id: number;
  kind: string;
  chatbot_id: string | null;
  serial_key: string | null;
  payload: string;
  state: JobState;
  attempts: number;
  max_attempts: number;
};
