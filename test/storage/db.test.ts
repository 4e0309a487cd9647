// The SQLite connection settings the service's guarantees and speed rely on.
import { describe, expect, it } from 'bun:test';
import { openDatabase } from '../../src/storage/sqlite/db.ts';
import { tempDir } from '../helpers/app.ts';

describe('openDatabase', () => {
  it('should open in WAL mode with NORMAL sync, foreign keys and journals of savepoints in memory', () => {
    const tmp = tempDir();
    const db = openDatabase(`${tmp.dir}/app.sqlite`);
    try {
      const pragma = (name: string) => Object.values(db.query(`PRAGMA ${name}`).get() as object)[0];
      expect(pragma('journal_mode')).toBe('wal');
      // NORMAL (1): a commit is in the WAL file before it returns, so it survives kill -9; an OS
      // crash or power cut can lose the last commits (FULL would fsync every commit).
      expect(pragma('synchronous')).toBe(1);
      expect(pragma('foreign_keys')).toBe(1);
      // MEMORY (2): a group commit's savepoints write no temp files.
      expect(pragma('temp_store')).toBe(2);
    } finally {
      db.close();
      tmp.cleanup();
    }
  });
});
