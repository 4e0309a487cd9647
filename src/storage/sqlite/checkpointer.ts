// WAL checkpoints out of the request path: a thread of their own instead of SQLite's
// auto-checkpoint, which runs inside whichever commit crosses 1,000 WAL frames.
import type { Database } from 'bun:sqlite';
import type { Metrics } from '../../http/metrics.ts';
import type { Logger } from '../../logging.ts';
import type { CheckpointerCommand, CheckpointMode, CheckpointReport } from './checkpoint-worker.ts';

/** SQLite's default auto-checkpoint, restored whenever the thread is not running. */
const AUTOCHECKPOINT_FRAMES = 1_000;

export const CHECKPOINT_DEFAULTS = {
  intervalMs: 250,
  /**
   * Past this many WAL frames (64 MiB of 4 KiB pages; ~1 s at 1,000 deliveries/s, ~16 frames
   * each) the group commit holds its commits back for one short copy, after which the WAL starts
   * over from its beginning, overwriting the file instead of growing it.
   */
  resetFrames: 16_384,
  /**
   * A RESTART checkpoint once the WAL holds this many frames anyway (writes outside the group
   * commit never pause): it holds writers off for its last copy and two fsyncs, so it must be rare.
   */
  restartFrames: 65_536,
  /**
   * The WAL file is cut back to this size when it starts over: above what the catch-ups let it
   * reach, so while they work no commit truncates the file (an ftruncate of a large WAL took
   * ~10 ms here); a WAL that grew past `restartFrames` anyway is cut back once.
   */
  journalSizeLimitBytes: 128 * 1_048_576,
};

/** Holds commits back for the checkpointer's catch-up copy (the group commit). */
export type CommitGate = { pause: () => void; resume: () => void };

/** The gate is opened again after this long even if the catch-up copy never reports. */
const PAUSE_MAX_MS = 500;

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
 * it returns, as before. When the WAL is large, `gate` (the group commit) holds commits back
 * while the thread copies the WAL's tail, so SQLite starts the WAL over without any commit
 * waiting on a lock. If the thread fails or stops, auto-checkpoint is switched back on.
 */
export function startCheckpointer(
  db: Database,
  deps: { log: Logger; metrics: Metrics; gate?: CommitGate },
  options = CHECKPOINT_DEFAULTS,
): Checkpointer {
  const { log, metrics, gate } = deps;
  let running = true;
  let pausedUntil: ReturnType<typeof setTimeout> | undefined;
  const reopen = () => {
    if (pausedUntil === undefined) return;
    clearTimeout(pausedUntil);
    pausedUntil = undefined;
    gate?.resume();
  };
  const fallBack = (why: string) => {
    reopen();
    if (!running) return;
    running = false;
    db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_FRAMES}`);
    log.error({ why }, 'sqlite checkpoint thread stopped: checkpoints run in commits again');
  };
  const stopped = Promise.withResolvers<void>();
  const count = (mode: CheckpointMode | 'unknown', result: string) =>
    metrics.inc('answerdesk_sqlite_checkpoints_total', 'WAL checkpoints by mode and result.', {
      mode,
      result,
    });
  db.exec(`PRAGMA journal_size_limit = ${options.journalSizeLimitBytes}`);
  db.exec('PRAGMA wal_autocheckpoint = 0');
  // `ref: false`: never what keeps the process alive (stop() ends it, and so does the process);
  // `smol`: the thread holds one SQLite connection and runs one statement at a time.
  const worker = new Worker(workerSpecifier(), { ref: false, smol: true } as WorkerOptions);
  const send = (command: CheckpointerCommand) => worker.postMessage(command);
  worker.onmessage = (event: MessageEvent<CheckpointReport>) => {
    const report = event.data;
    if (report === 'stopped') return stopped.resolve();
    if (report === 'pause') {
      if (!running) return;
      gate?.pause();
      pausedUntil = setTimeout(reopen, PAUSE_MAX_MS);
      return send('paused');
    }
    reopen();
    if ('error' in report) {
      count('unknown', 'error');
      log.warn({ error: report.error }, 'sqlite checkpoint failed; the next one retries');
      return;
    }
    count(report.mode, report.busy ? 'busy' : 'ok');
    if (report.missed) count('CATCH_UP', 'missed');
    if (report.mode === 'RESTART') {
      log.info({ frames: report.log, ms: Math.round(report.ms) }, 'sqlite WAL restarted');
    }
  };
  worker.addEventListener('error', (event) => fallBack(event.message));
  worker.addEventListener('close', () => {
    fallBack('the thread exited');
    stopped.resolve();
  });
  send({
    path: db.filename,
    intervalMs: options.intervalMs,
    resetFrames: options.resetFrames,
    restartFrames: options.restartFrames,
  });
  return {
    stop: async () => {
      reopen();
      if (!running) return;
      running = false;
      send('stop');
      const bound = setTimeout(() => stopped.resolve(), 5_000);
      await stopped.promise;
      clearTimeout(bound);
      worker.terminate();
      // The main connection is about to close: its close checkpoints what is left.
      db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_FRAMES}`);
    },
  };
}
