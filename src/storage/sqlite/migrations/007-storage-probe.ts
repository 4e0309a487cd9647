import type { Migration } from './migration.ts';

/**
 * The row the write probe (src/storage/sqlite/write-health.ts) inserts and deletes to learn
 * whether SQLite can write again after a disk-full or I/O error.
 */
export const storageProbe: Migration = {
  version: 7,
  name: 'storage-probe',
  sql: `
CREATE TABLE storage_probe (
  id INTEGER PRIMARY KEY,
  pad BLOB NOT NULL,
  written_at INTEGER NOT NULL
);
`,
};
