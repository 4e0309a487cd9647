// WAL checkpoints from a thread: commits never checkpoint while it runs, and it keeps the WAL copied.

import { Database as Connection } from 'bun:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'bun:test';
import { statSync } from 'node:fs';
import { Metrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/logging.ts';
import { startCheckpointer } from '../../src/storage/sqlite/checkpointer.ts';
import { type Database, openDatabase } from '../../src/storage/sqlite/db.ts';
import { GroupCommit } from '../../src/storage/sqlite/group-commit.ts';
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
const checkpoints = (metrics: Metrics, mode = 'PASSIVE', result = 'ok') =>
  Number(
    new RegExp(
      `answerdesk_sqlite_checkpoints_total\\{mode="${mode}",result="${result}"\\} (\\d+)`,
    ).exec(metrics.render())?.[1] ?? 0,
  );

/** The checkpointer at test speed, holding `commits` back for its catch-ups (at 64 frames). */
function startGated(metrics: Metrics, commits: GroupCommit) {
  const options = {
    intervalMs: 5,
    resetFrames: 64,
    restartFrames: 1_000_000_000,
    journalSizeLimitBytes: 1_048_576_000,
  };
  return startCheckpointer(db, { log: createLogger('silent'), metrics, gate: commits }, options);
}

describe('sqlite checkpointer', () => {
  it('should take checkpoints out of commits and copy the WAL from its own thread', async () => {
    const metrics = new Metrics();
    const options = {
      intervalMs: 10,
      resetFrames: 1_000_000,
      restartFrames: 1_000_000,
      journalSizeLimitBytes: 1_048_576,
    };
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

  it('should start the WAL over under unbroken group commits by holding them back for one copy', async () => {
    const metrics = new Metrics();
    const commits = new GroupCommit(db);
    const checkpointer = startGated(metrics, commits);
    const page = 'x'.repeat(4_000);
    const walBytes = () => statSync(`${db.filename}-wal`).size;
    const catchUps = () => checkpoints(metrics, 'CATCH_UP');
    let rows = 0;
    // Writes without a gap (each waits for the commit of the one before): a PASSIVE copy never
    // reaches the WAL's end by itself. Bounded by a row count, not by time.
    const writeUntil = async (done: () => boolean) => {
      for (let i = 0; i < 20_000 && !done(); i++) {
        await commits.run(() => db.query('INSERT INTO t (v) VALUES (?)').run(page));
        rows++;
      }
    };
    try {
      await writeUntil(() => catchUps() >= 1);
      const [rowsBefore, bytesBefore] = [rows, walBytes()];
      await writeUntil(() => catchUps() >= 4 && rows - rowsBefore >= 4_000);
      expect(catchUps()).toBeGreaterThanOrEqual(4);
      // A row is at least one WAL frame (4 KiB): a WAL that never started over grows by them.
      expect(walBytes() - bytesBefore).toBeLessThan(((rows - rowsBefore) * 4_096) / 2);
      // Nothing was lost or held back for good: every row is there, and commits go on.
      await commits.run(() => db.query('INSERT INTO t (v) VALUES (?)').run('after'));
      expect((db.query('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(rows + 1);
    } finally {
      await checkpointer.stop();
    }
  });

  it('should back off instead of pausing commits on every tick when a catch-up cannot help', async () => {
    const metrics = new Metrics();
    const commits = new GroupCommit(db);
    // A long read on another connection (a backup, a big report) keeps the WAL from starting over
    // whatever the catch-up copies; so would a write that does not go through the group commit.
    const reader = new Connection(db.filename, { readonly: true });
    reader.exec('BEGIN');
    reader.query('SELECT COUNT(*) FROM t').get();
    const checkpointer = startGated(metrics, commits);
    const count = (mode: string, result: string) => checkpoints(metrics, mode, result);
    try {
      // Bounded by a row count: stops once 80 periodic copies ran.
      for (let i = 0; i < 50_000 && count('PASSIVE', 'ok') < 80; i++) {
        await commits.run(() => db.query('INSERT INTO t (v) VALUES (?)').run(`row ${i}`));
      }
      expect(count('PASSIVE', 'ok')).toBeGreaterThanOrEqual(80);
      expect(count('CATCH_UP', 'missed')).toBeGreaterThanOrEqual(2);
      // Without the back-off every one of the 80 ticks would hold commits back (4, 8, 16, … skipped).
      expect(count('CATCH_UP', 'ok')).toBeLessThanOrEqual(10);
    } finally {
      await checkpointer.stop();
      reader.exec('COMMIT');
      reader.close();
    }
  });
});
