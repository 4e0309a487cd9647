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
  private flushQueued = false;
  private paused = false;

  constructor(private readonly db: Database) {}

  run<T>(write: () => T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
    this.queueFlush();
    return promise;
  }

  /**
   * Holds commits back (writes queue up, their callers wait; the event loop does not) until
   * `resume()`. The WAL checkpointer (checkpointer.ts) pauses for the few milliseconds it needs
   * to copy the WAL's tail with no commit landing meanwhile: SQLite then starts the WAL over at
   * the next commit instead of growing it, and no commit ever waits on a lock or a busy timeout.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued || this.paused || this.queue.length === 0) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      if (!this.paused) this.flush();
    });
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
