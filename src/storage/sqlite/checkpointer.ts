// WAL checkpoints out of the request path: a thread of their own instead of SQLite's
// auto-checkpoint, which runs inside whichever commit crosses 1,000 WAL frames.
import type { Database } from 'bun:sqlite';
import type { Metrics } from '../../http/metrics.ts';
import type { Logger } from '../../logging.ts';
import type { CheckpointerStart, CheckpointReport } from './checkpoint-worker.ts';

/** SQLite's default auto-checkpoint, restored whenever the thread is not running. */
const AUTOCHECKPOINT_FRAMES = 1_000;

export const CHECKPOINT_DEFAULTS = {
  intervalMs: 250,
  /**
   * A RESTART checkpoint once the WAL holds this many frames (~270 MB of 4 KiB pages): it holds
   * writers off for its last copy and two fsyncs (~10–20 ms here), so it must be rare. Steady
   * traffic with idle gaps never gets there: the WAL starts over by itself after a checkpoint
   * that caught up. At 1,000 deliveries/s (~12 frames each) it comes every ~5 s.
   */
  restartFrames: 65_536,
  /** The WAL file is cut back to this size when it restarts (bytes). */
  journalSizeLimitBytes: 64 * 1_048_576,
};

export type Checkpointer = { stop: () => Promise<void> };

/**
 * The thread's module: next to this file when run from source; in the binary it is an entry point
 * of its own (scripts/build.ts, WORKERS), found relative to the bundle's root (src/).
 */
function workerSpecifier(): string {
  return import.meta.url.includes('/$bunfs/')
    ? './storage/sqlite/checkpoint-worker.ts'
    : new URL('./checkpoint-worker.ts', import.meta.url).href;
}

/**
 * Turns the main connection's auto-checkpoint off and checkpoints from a thread every
 * `intervalMs`. A commit then only appends to the WAL (the page copy and its two fsyncs, ~5–25 ms
 * on a small VPS disk, happen elsewhere); durability is unchanged: a commit is in the WAL before
 * it returns, as before. If the thread fails or stops, auto-checkpoint is switched back on.
 */
export function startCheckpointer(
  db: Database,
  deps: { log: Logger; metrics: Metrics },
  options = CHECKPOINT_DEFAULTS,
): Checkpointer {
  const { log, metrics } = deps;
  let running = true;
  const fallBack = (why: string) => {
    if (!running) return;
    running = false;
    db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_FRAMES}`);
    log.error({ why }, 'sqlite checkpoint thread stopped: checkpoints run in commits again');
  };
  const stopped = Promise.withResolvers<void>();
  db.exec(`PRAGMA journal_size_limit = ${options.journalSizeLimitBytes}`);
  db.exec('PRAGMA wal_autocheckpoint = 0');
  // `ref: false`: never what keeps the process alive (stop() ends it, and so does the process);
  // `smol`: the thread holds one SQLite connection and runs one statement at a time.
  const worker = new Worker(workerSpecifier(), { ref: false, smol: true } as WorkerOptions);
  worker.onmessage = (event: MessageEvent<CheckpointReport>) => {
    const report = event.data;
    if (report === 'stopped') return stopped.resolve();
    if ('error' in report) {
      metrics.inc('answerdesk_sqlite_checkpoints_total', 'WAL checkpoints by mode and result.', {
        mode: 'unknown',
        result: 'error',
      });
      log.warn({ error: report.error }, 'sqlite checkpoint failed; the next one retries');
      return;
    }
    metrics.inc('answerdesk_sqlite_checkpoints_total', 'WAL checkpoints by mode and result.', {
      mode: report.mode,
      result: report.busy ? 'busy' : 'ok',
    });
    if (report.mode === 'RESTART') {
      log.info({ frames: report.log, ms: Math.round(report.ms) }, 'sqlite WAL restarted');
    }
  };
  worker.addEventListener('error', (event) => fallBack(event.message));
  worker.addEventListener('close', () => {
    fallBack('the thread exited');
    stopped.resolve();
  });
  worker.postMessage({
    path: db.filename,
    intervalMs: options.intervalMs,
    restartFrames: options.restartFrames,
  } satisfies CheckpointerStart);
  return {
    stop: async () => {
      if (!running) return;
      running = false;
      worker.postMessage('stop');
      const bound = setTimeout(() => stopped.resolve(), 5_000);
      await stopped.promise;
      clearTimeout(bound);
      worker.terminate();
      // The main connection is about to close: its close checkpoints what is left.
      db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_FRAMES}`);
    },
  };
}
