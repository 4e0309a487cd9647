// The WAL checkpointer's thread (started by checkpointer.ts): copies committed pages from the WAL
// into the database file on its own connection, so no request waits for that copy and its fsyncs.
import { Database } from 'bun:sqlite';

export type CheckpointerStart = { path: string; intervalMs: number; restartFrames: number };
export type CheckpointReport =
  | { mode: 'PASSIVE' | 'RESTART'; busy: number; log: number; checkpointed: number; ms: number }
  | { error: string }
  | 'stopped';

declare const self: Worker;

let db: Database | null = null;
let timer: ReturnType<typeof setInterval> | undefined;

function checkpoint(mode: 'PASSIVE' | 'RESTART'): CheckpointReport {
  const started = performance.now();
  const row = db!.query(`PRAGMA wal_checkpoint(${mode})`).get() as {
    busy: number;
    log: number;
    checkpointed: number;
  };
  return { mode, ...row, ms: performance.now() - started };
}

self.onmessage = (event: MessageEvent<CheckpointerStart | 'stop'>) => {
  if (event.data === 'stop') {
    clearInterval(timer);
    db?.close();
    db = null;
    postMessage('stopped' satisfies CheckpointReport);
    return;
  }
  const { path, intervalMs, restartFrames } = event.data;
  db = new Database(path);
  db.exec('PRAGMA busy_timeout = 5000');
  timer = setInterval(() => {
    try {
      const passive = checkpoint('PASSIVE');
      postMessage(passive);
      // PASSIVE never waits for the writer, so under steady writes the WAL never gets back to its
      // start and keeps growing. Past `restartFrames`, RESTART waits for a gap between writes
      // and holds them off while it copies what is left (little: PASSIVE just ran) and resets.
      if (typeof passive === 'object' && 'log' in passive && passive.log >= restartFrames) {
        postMessage(checkpoint('RESTART'));
      }
    } catch (error) {
      postMessage({ error: error instanceof Error ? error.message : String(error) });
    }
  }, intervalMs);
};
