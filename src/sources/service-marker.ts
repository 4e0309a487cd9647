// DATA_DIR/service.json: tells `answerdesk ingest` that a service owns this data dir, and where.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ServiceMarker = { pid: number; url: string; startedAt: string };

const markerPath = (dataDir: string) => join(dataDir, 'service.json');

/**
 * Records that this process serves `dataDir` at `url`; returns the clean-up to run at stop.
 * LanceDB wants one writer per table, so the CLI sends its work to the service it finds here
 * instead of writing the index itself.
 */
export function writeServiceMarker(dataDir: string, url: string): () => void {
  const marker: ServiceMarker = { pid: process.pid, url, startedAt: new Date().toISOString() };
  try {
    writeFileSync(markerPath(dataDir), `${JSON.stringify(marker)}\n`, { mode: 0o600 });
  } catch {
    return () => {};
  }
  return () => {
    const current = readServiceMarker(dataDir, { checkAlive: false });
    if (current?.pid === process.pid) rmSync(markerPath(dataDir), { force: true });
  };
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as { code?: string }).code === 'EPERM';
  }
};

/** The service marker of `dataDir`, or null when absent, unreadable or left by a dead process. */
export function readServiceMarker(
  dataDir: string,
  { checkAlive = true } = {},
): ServiceMarker | null {
  try {
    const m = JSON.parse(readFileSync(markerPath(dataDir), 'utf8')) as Partial<ServiceMarker>;
    if (typeof m.pid !== 'number' || typeof m.url !== 'string') return null;
    if (checkAlive && !isAlive(m.pid)) return null;
    return { pid: m.pid, url: m.url, startedAt: String(m.startedAt ?? '') };
  } catch {
    return null;
  }
}
