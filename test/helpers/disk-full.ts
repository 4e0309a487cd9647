// A full disk for SQLite, for real: the database may not grow past its current size
// (PRAGMA max_page_count, per connection) and its free pages are used up, so every write that
// needs a new page fails with SQLITE_FULL ("database or disk is full"). A write that fits in a
// page's free room still passes, as on a real disk; rows too big for one page (overflow pages)
// need new pages whenever they change size.
import type { Database } from 'bun:sqlite';

const FILLER_SIZES = [65_536, 4_096, 512, 64, 8, 1];

/** Fills the database; returns `free()`, which lifts the cap and gives the filler back. */
export function fillDisk(db: Database): () => void {
  db.exec('CREATE TABLE IF NOT EXISTS test_disk_filler (pad BLOB NOT NULL)');
  const max = db.query<{ max_page_count: number }, []>('PRAGMA max_page_count').get();
  const pages = db.query<{ page_count: number }, []>('PRAGMA page_count').get();
  db.exec(`PRAGMA max_page_count = ${pages?.page_count ?? 1}`);
  const insert = db.query('INSERT INTO test_disk_filler (pad) VALUES (zeroblob(?))');
  for (const size of FILLER_SIZES) {
    try {
      for (;;) insert.run(size);
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_FULL') throw e;
    }
  }
  return () => {
    db.exec(`PRAGMA max_page_count = ${max?.max_page_count ?? 4_294_967_294}`);
    db.exec('DELETE FROM test_disk_filler');
  };
}
