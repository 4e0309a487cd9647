// The WAL checkpointer's thread (started by checkpointer.ts): copies committed pages from the WAL
// into the database file on its own connection, so no request waits for that copy and its fsyncs.
import { Database } from 'bun:sqlite';

export type CheckpointerStart = {
  path: string;
  intervalMs: number;
  resetFrames: number;
  restartFrames: number;
};
/**
 * PASSIVE: the periodic copy; CATCH_UP: the copy made while the main thread holds its commits
 * back (after a `pause` request), which lets the WAL start over; RESTART: the fallback that
 * blocks writers, for a WAL that kept growing anyway (writes outside the group commit).
 */
export type CheckpointMode = 'PASSIVE' | 'CATCH_UP' | 'RESTART';
export type CheckpointReport =
  | { mode: CheckpointMode; busy: number; log: number; checkpointed: number; ms: number }
  | { error: string }
  | 'pause'
  | 'stopped';
/** From the main thread: its commits are held back (`paused`), or stop. */
export type CheckpointerCommand = CheckpointerStart | 'paused' | 'stop';

declare const self: Worker;

let db: Database | null = null;
let timer: ReturnType<typeof setInterval> | undefined;
/** A `pause` request is out: no periodic copy until the main thread answers it. */
let awaitingPause = false;
/** The WAL's frame count after the last catch-up copy (-1: none yet). */
let caughtUpAt = -1;

function checkpoint(mode: CheckpointMode): CheckpointReport & object {
  const started = performance.now();
  const sqlMode = mode === 'RESTART' ? 'RESTART' : 'PASSIVE';
  const row = db!.query(`PRAGMA wal_checkpoint(${sqlMode})`).get() as {
    busy: number;
    log: number;
    checkpointed: number;
  };
  return { mode, ...row, ms: performance.now() - started };
}

function report(run: () => CheckpointReport): void {
  try {
    postMessage(run());
  } catch (error) {
    postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
}

self.onmessage = (event: MessageEvent<CheckpointerCommand>) => {
  const command = event.data;
  if (command === 'stop') {
    clearInterval(timer);
    db?.close();
    db = null;
    postMessage('stopped' satisfies CheckpointReport);
    return;
  }
  // The main thread holds its commits back: this copy can reach the WAL's end.
  if (command === 'paused') {
    awaitingPause = false;
    return report(() => {
      const catchUp = checkpoint('CATCH_UP');
      if ('log' in catchUp) caughtUpAt = catchUp.log;
      return catchUp;
    });
  }
  const { path, intervalMs, resetFrames, restartFrames } = command;
  db = new Database(path);
  db.exec('PRAGMA busy_timeout = 5000');
  timer = setInterval(() => {
    if (awaitingPause) return;
    report(() => {
      const passive = checkpoint('PASSIVE');
      if (!('log' in passive)) return passive;
      // PASSIVE never waits for the writer, so under steady writes it never reaches the WAL's
      // end and the WAL keeps growing. Past `resetFrames` the main thread is asked to hold its
      // commits for one short copy (the tail written during this one, ~5–10 ms here); past
      // `restartFrames` (the WAL grew anyway) RESTART waits for a gap between writes and holds
      // them off.
      if (passive.log >= restartFrames) {
        postMessage(passive);
        return checkpoint('RESTART');
      }
      // Nothing written since the last catch-up: the WAL starts over at the next commit anyway.
      const idle = passive.log === caughtUpAt && passive.checkpointed === passive.log;
      if (passive.log >= resetFrames && !idle) {
        postMessage(passive);
        awaitingPause = true;
        return 'pause';
      }
      return passive;
    });
  }, intervalMs);
};
