// LanceDB: one connection per process, opened on DATA_DIR/lancedb.
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';

export type LanceConnection = lancedb.Connection;

/** Opens the LanceDB directory. Callers keep this one connection for the process's life. */
export async function openLance(dataDir: string): Promise<LanceConnection> {
  return lancedb.connect(join(dataDir, 'lancedb'));
}

/** Checks that LanceDB answers (for /readyz). */
export async function pingLance(conn: LanceConnection): Promise<boolean> {
  try {
    await conn.tableNames();
    return true;
  } catch {
    return false;
  }
}
