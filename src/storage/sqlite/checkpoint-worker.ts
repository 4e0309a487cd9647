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
  | {
      mode: CheckpointMode;
      busy: number;
      log: number;
      checkpointed: number;
      ms: number;
      /** On a PASSIVE: the catch-up before it did not let the WAL start over (a write outside the group commit landed, or the copy outlasted the pause). */
      missed?: boolean;
    }
  | { error: string }
  | 'pause'
  | 'stopped';
/** From the main thread: its commits are held back (`paused`), or stop. */
export type CheckpointerCommand = CheckpointerStart | 'paused' | 'stop';

declare const self: Worker;

/** A catch-up slower than this (the copy's fsyncs on a slow disk) backs off like a missed one. */
const SLOW_CATCH_UP_MS = 50;
/** After a missed or slow catch-up, skip this many ticks before the next (doubling from 4). */
const BACKOFF_TICKS_MAX = 64;

let db: Database | null = null;
let timer: ReturnType<typeof setInterval> | undefined;
/** A `pause` request is out (for this copy): no periodic copy until the main thread answers. */
let awaitingPause: 'CATCH_UP' | 'RESTART' | null = null;
/** The WAL's frame count after the last catch-up copy; -1 when there is none to check. */
let caughtUpAt = -1;
let backoffTicks = 0;
let skipTicks = 0;

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

const backOff = () => {
  backoffTicks = Math.min(Math.max(backoffTicks * 2, 4), BACKOFF_TICKS_MAX);
  skipTicks = backoffTicks;
};

/** The copy made while the main thread holds its commits back (after a `pause` request). */
function heldCopy(mode: 'CATCH_UP' | 'RESTART'): CheckpointReport {
  const copy = checkpoint(mode);
  if (!('log' in copy)) return copy;
  caughtUpAt = mode === 'CATCH_UP' ? copy.log : -1;
  if (mode === 'CATCH_UP' && copy.ms > SLOW_CATCH_UP_MS) backOff();
  return copy;
}

/**
 * PASSIVE never waits for the writer, so under steady writes it never reaches the WAL's end and
 * the WAL keeps growing. Past `resetFrames` the main thread is asked to hold its commits for one
 * short copy (the tail written during this one: 4–19 ms measured here), after which the next
 * commit starts the WAL over. Writes outside the group commit are not held: one landing during
 * the copy keeps the WAL growing, so a missed (or slow) catch-up backs off before the next. Past
 * `restartFrames` (the WAL grew anyway) RESTART, with commits held too, waits for a gap between
 * the other writes and holds them off.
 */
function tick(resetFrames: number, restartFrames: number): CheckpointReport {
  const passive = checkpoint('PASSIVE');
  if (!('log' in passive)) return passive;
  if (caughtUpAt >= 0) {
    // Started over: the WAL holds only what came after. Same count, all copied: no write yet.
    const idle = passive.log === caughtUpAt && passive.checkpointed === passive.log;
    if (passive.log < caughtUpAt) {
      caughtUpAt = -1;
      backoffTicks = 0;
    } else if (!idle) {
      caughtUpAt = -1;
      passive.missed = true;
      backOff();
    } else return passive;
  }
  const ask = (mode: 'CATCH_UP' | 'RESTART'): CheckpointReport => {
    postMessage(passive);
    awaitingPause = mode;
    return 'pause';
  };
  if (passive.log >= restartFrames) return ask('RESTART');
  if (skipTicks > 0) {
    skipTicks--;
    return passive;
  }
  return passive.log >= resetFrames ? ask('CATCH_UP') : passive;
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
  if (command === 'paused') {
    const mode = awaitingPause ?? 'CATCH_UP';
    awaitingPause = null;
    return report(() => heldCopy(mode));
  }
  const { path, intervalMs, resetFrames, restartFrames } = command;
  db = new Database(path);
  db.exec('PRAGMA busy_timeout = 5000');
  timer = setInterval(() => {
    if (awaitingPause) return;
    report(() => tick(resetFrames, restartFrames));
  }, intervalMs);
};
