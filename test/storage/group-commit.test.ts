// Group commit: one transaction per turn of the event loop, each write settled after the commit.

import { Database } from 'bun:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'bun:test';
import { GroupCommit } from '../../src/storage/sqlite/group-commit.ts';
import { tempDir } from '../helpers/app.ts';
import { fillDisk } from '../helpers/disk-full.ts';

let tmp: ReturnType<typeof tempDir>;
let path: string;
let db: Database;

beforeEach(() => {
  tmp = tempDir();
  path = `${tmp.dir}/group.sqlite`;
  db = new Database(path, { create: true, strict: true });
  db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

/** Rows as another connection sees them: only what was committed. */
const committed = () => {
  const other = new Database(path, { readonly: true });
  try {
    return (other.query('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n;
  } finally {
    other.close();
  }
};
const insert = (v: string) => () => db.query('INSERT INTO t (v) VALUES (?)').run(v).changes;

describe('group commit', () => {
  it('should commit the writes of one turn together and settle each only after the commit', async () => {
    const group = new GroupCommit(db);
    let seenByOthersDuringLast = -1;
    const writes = [
      group.run(insert('a')),
      group.run(insert('b')),
      group.run(() => {
        insert('c')();
        seenByOthersDuringLast = committed();
        return 'last';
      }),
    ];
    expect(await Promise.all(writes)).toEqual([1, 1, 'last']);
    // While the third write ran, the first two were not committed yet: one transaction.
    expect(seenByOthersDuringLast).toBe(0);
    expect(committed()).toBe(3);
  });

  it('should roll back only the write that throws', async () => {
    const group = new GroupCommit(db);
    const results = await Promise.allSettled([
      group.run(insert('a')),
      group.run(() => {
        insert('half-done')();
        throw new Error('malformed');
      }),
      group.run(insert('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.query('SELECT v FROM t ORDER BY id').all()).toEqual([{ v: 'a' }, { v: 'c' }]);
  });

  it('should fail every write of the group when the commit itself fails', async () => {
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`);
    const group = new GroupCommit(db);
    const results = await Promise.allSettled([
      group.run(insert('a')),
      // Checked at COMMIT (deferred): the whole group's commit is refused.
      group.run(() => db.query('INSERT INTO child (parent_id) VALUES (42)').run().changes),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(committed()).toBe(0);
    // The next turn starts a fresh group.
    expect(await group.run(insert('b'))).toBe(1);
    expect(committed()).toBe(1);
  });

  it('should fail the whole group with the disk-full error when SQLite rolls the transaction back', async () => {
    const group = new GroupCommit(db);
    await group.run(insert('seed'));
    const free = fillDisk(db);
    const big = 'x'.repeat(200_000);
    const results = await Promise.allSettled([
      group.run(insert('a')),
      // Needs new pages the full disk refuses: SQLite rolls the whole transaction back.
      group.run(insert(big)),
      group.run(insert('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) {
      expect((r as PromiseRejectedResult).reason.code).toBe('SQLITE_FULL');
    }
    free();
    expect(committed()).toBe(1);
    expect(await group.run(insert('d'))).toBe(1);
    expect(committed()).toBe(2);
  });

  it('should hold commits back while paused and commit what waited, together, on resume', async () => {
    const group = new GroupCommit(db);
    group.pause();
    const settled: string[] = [];
    const writes = ['a', 'b', 'c'].map((v) => group.run(insert(v)).then(() => settled.push(v)));
    // Turns of the event loop pass (a timer, not a sleep for work): nothing may commit meanwhile.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(committed()).toBe(0);
    expect(settled).toEqual([]);
    group.resume();
    await Promise.all(writes);
    expect(committed()).toBe(3);
    expect(settled).toEqual(['a', 'b', 'c']);
  });
});
