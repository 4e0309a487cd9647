// Group commit: writes queued in the same turn of the event loop share one SQLite transaction.
import type { Database } from 'bun:sqlite';

type Pending = {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};

/**
 * Runs each `write` in its own savepoint inside one transaction per turn of the event loop, and
 * settles its promise only after that transaction committed: a caller that awaits `run()` knows
 * its write is as durable as a commit of its own would be. A write that throws rolls back its own
 * savepoint only; a failed COMMIT fails every write of the group.
 *
 * Why: a commit writes every page the transaction touched to the WAL, and most of a webhook
 * delivery's pages (table tails, time-ordered indexes) are shared with the deliveries around it;
 * under load a group writes far fewer pages than as many single commits (docs/notes/crisp.md).
 */
export class GroupCommit {
  private queue: Pending[] = [];

  constructor(private readonly db: Database) {}

  run<T>(write: () => T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    if (this.queue.length === 0) setImmediate(() => this.flush());
    this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
    return promise;
  }

  private flush(): void {
    const group = this.queue;
    this.queue = [];
    const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const pending of group) {
          try {
            // Nested in the group's transaction, bun:sqlite makes this a savepoint.
            results.push({ ok: true, value: this.db.transaction(pending.write)() });
          } catch (error) {
            // SQLite rolls the whole transaction back on some errors (SQLITE_FULL, I/O): the
            // group is lost, and that error — not the failed COMMIT after it — is the cause.
            if (!this.db.inTransaction) throw error;
            results.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      for (const pending of group) pending.reject(error);
      return;
    }
    group.forEach((pending, i) => {
      const result = results[i]!;
      if (result.ok) pending.resolve(result.value);
      else pending.reject(result.error);
    });
  }
}
