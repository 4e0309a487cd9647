// Whether SQLite can write. Callers report the write failures they meet (disk full, I/O error);
// a small probe write shows when space is back. /readyz and the job worker read it, so both
// recover without a restart.
import type { Database } from 'bun:sqlite';
import type { Logger } from '../../logging.ts';

/**
 * Bytes the probe writes. A probe commits a new row of this size and deletes the previous one, so
 * it passes only when SQLite finds this much room (free pages count, as they do for every write)
 * and the commit reaches the write-ahead log: on a full disk, that is the write that fails.
 */
export const WRITE_PROBE_BYTES = 16_384;
/** While writes succeed, /readyz probes at most this often: a full disk shows even when idle. */
export const WRITE_PROBE_INTERVAL_MS = 30_000;
/** While writes fail, probes back off from 1 s (doubling) to this. */
export const WRITE_PROBE_BACKOFF_CAP_MS = 30_000;

/**
 * The plain reason when `e` is SQLite unable to write for lack of room or a storage fault
 * (SQLITE_FULL: the disk or `max_page_count`; SQLITE_IOERR_*; SQLITE_READONLY_*), else null.
 * Busy, constraint and programming errors are not storage failures.
 */
export function storageFailureReason(e: unknown): string | null {
  if (!(e instanceof Error)) return null;
  const code = String((e as { code?: unknown }).code ?? '');
  if (code === 'SQLITE_FULL' || /database or disk is full/.test(e.message)) {
    return 'disk full: cannot write';
  }
  if (code.startsWith('SQLITE_IOERR') || /disk I\/O error/.test(e.message)) {
    return 'disk I/O error: cannot write';
  }
  if (code.startsWith('SQLITE_READONLY')) return 'database is read-only: cannot write';
  return null;
}

export type WriteFailure = { reason: string; since: number };

export class WriteHealth {
  #failure: WriteFailure | null = null;
  #failedProbes = 0;
  #nextProbeAt = 0;
  #lastProbeAt = Number.NEGATIVE_INFINITY;
  #onRecovered: (() => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current failure: a write failed for lack of room (or I/O) and no probe has passed since. */
  get failure(): WriteFailure | null {
    return this.#failure;
  }

  /** When the next probe may run while failing (ms since epoch). */
  get nextProbeAt(): number {
    return this.#nextProbeAt;
  }

  /** Runs `listener` each time writes pass again after a failure (clean-ups that had to wait). */
  onRecovered(listener: () => void): void {
    this.#onRecovered.push(listener);
  }

  /** Records a failed write. Returns false, recording nothing, when `e` is not a storage failure. */
  report(e: unknown): boolean {
    const reason = storageFailureReason(e);
    if (!reason) return false;
    if (!this.#failure) {
      this.#failure = { reason, since: this.now() };
      this.#failedProbes = 0;
      this.#nextProbeAt = this.now() + this.#backoffMs();
      this.log.error({ reason }, 'SQLite cannot write; retrying as space comes back');
    }
    return true;
  }

  /**
   * True when writes work: at once while no failure is known; while one is, after a probe that
   * passes (run when due, or now with `force`).
   */
  writable({ force = false }: { force?: boolean } = {}): boolean {
    if (!this.#failure) return true;
    if (!force && this.now() < this.#nextProbeAt) return false;
    return this.probe();
  }

  /** The state /readyz shows; probes when failing, or when the last probe is old. */
  check(): WriteFailure | null {
    if (this.#failure || this.now() - this.#lastProbeAt >= WRITE_PROBE_INTERVAL_MS) this.probe();
    return this.#failure;
  }

  /** Commits a WRITE_PROBE_BYTES row (dropping the previous one); true when it went through. */
  probe(): boolean {
    const now = this.now();
    this.#lastProbeAt = now;
    try {
      this.db.transaction(() => {
        const row = this.db
          .query<{ id: number }, [number, number]>(
            'INSERT INTO storage_probe (pad, written_at) VALUES (zeroblob(?), ?) RETURNING id',
          )
          .get(WRITE_PROBE_BYTES, now);
        this.db.query('DELETE FROM storage_probe WHERE id < ?').run(row?.id ?? 0);
      })();
    } catch (e) {
      // A busy database says nothing about space: keep the state as it is.
      if (!this.report(e)) return !this.#failure;
      this.#failedProbes++;
      this.#nextProbeAt = now + this.#backoffMs();
      return false;
    }
    if (this.#failure) {
      this.log.info(
        { reason: this.#failure.reason, downMs: now - this.#failure.since },
        'SQLite writes again',
      );
      this.#failure = null;
      for (const listener of this.#onRecovered) {
        try {
          listener();
        } catch (err) {
          if (!this.report(err)) this.log.error({ err }, 'a storage recovery step failed');
        }
      }
    }
    return !this.#failure;
  }

  #backoffMs(): number {
    return Math.min(WRITE_PROBE_BACKOFF_CAP_MS, 1_000 * 2 ** this.#failedProbes);
  }
}
