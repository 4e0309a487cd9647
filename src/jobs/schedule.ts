// A durable timer on the job queue: the one pending job of a key, moved each time it is set
// again (e.g. "answer the visitor 60 s after the operator's last typing event", src/crisp/).
import type { Database } from 'bun:sqlite';
import type { EnqueueOptions } from './types.ts';
import type { Worker } from './worker.ts';

/**
 * Makes the pending job of `dedupeKey` due at `runAt`: the pending one is moved (keeping its
 * place among its serial key's jobs), else a new one is committed; a finished or running job
 * gives its key up for it. Survives restarts like any job.
 */
export function rescheduleJob<P>(
  db: Database,
  worker: Worker,
  kind: string,
  payload: P,
  options: EnqueueOptions & { dedupeKey: string; runAt: number },
  now: number,
): void {
  const moved = db
    .query("UPDATE jobs SET run_at = ?, updated_at = ? WHERE dedupe_key = ? AND state = 'pending'")
    .run(options.runAt, now, options.dedupeKey).changes;
  if (moved > 0) return;
  db.query("UPDATE jobs SET dedupe_key = NULL WHERE dedupe_key = ? AND state != 'pending'").run(
    options.dedupeKey,
  );
  worker.enqueue(kind, payload, options);
}

/** A job of this dedupe key waits to run (e.g. the typing grace of a conversation). */
export function isScheduled(db: Database, dedupeKey: string): boolean {
  return !!db.query("SELECT 1 FROM jobs WHERE dedupe_key = ? AND state = 'pending'").get(dedupeKey);
}
