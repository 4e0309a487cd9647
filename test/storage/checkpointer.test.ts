// WAL checkpoints from a thread: commits never checkpoint while it runs, and it keeps the WAL copied.
import { afterEach, beforeEach, describe, expect, it } from 'bun:test';
import { Metrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/logging.ts';
import { startCheckpointer } from '../../src/storage/sqlite/checkpointer.ts';
import { type Database, openDatabase } from '../../src/storage/sqlite/db.ts';
import { tempDir } from '../helpers/app.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Database;
beforeEach(() => {
  tmp = tempDir();
  db = openDatabase(`${tmp.dir}/app.sqlite`);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

const autocheckpoint = () =>
  (db.query('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number })
    .wal_autocheckpoint;
const checkpoints = (metrics: Metrics) =>
  Number(
    /answerdesk_sqlite_checkpoints_total\{mode="PASSIVE",result="ok"\} (\d+)/.exec(
      metrics.render(),
    )?.[1] ?? 0,
  );

describe('sqlite checkpointer', () => {
  it('should take checkpoints out of commits and copy the WAL from its own thread', async () => {
    const metrics = new Metrics();
    const options = { intervalMs: 10, restartFrames: 1_000_000, journalSizeLimitBytes: 1_048_576 };
    const checkpointer = startCheckpointer(db, { log: createLogger('silent'), metrics }, options);
    try {
      expect(autocheckpoint()).toBe(0);
      for (let i = 0; i < 300; i++) db.query('INSERT INTO t (v) VALUES (?)').run(`row ${i}`);
      // Polls an observable count (bounded), not a sleep for work.
      for (let i = 0; i < 500 && checkpoints(metrics) < 2; i++) await Bun.sleep(10);
      expect(checkpoints(metrics)).toBeGreaterThanOrEqual(2);
      // Everything committed is already in the database file: nothing is left for this one.
      const left = db.query('PRAGMA wal_checkpoint(PASSIVE)').get() as {
        log: number;
        checkpointed: number;
      };
      expect(left.checkpointed).toBe(left.log);
    } finally {
      await checkpointer.stop();
    }
    expect(autocheckpoint()).toBe(1_000);
    expect((db.query('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(300);
  });
});
