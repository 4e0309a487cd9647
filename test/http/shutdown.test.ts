// Graceful shutdown: stop accepting, let in-flight requests finish, run stop hooks, close storage.
import { describe, expect, it } from 'bun:test';
import { rmSync } from 'node:fs';
import { startServer } from '../../src/server.ts';
import { pingDatabase } from '../../src/storage/sqlite/db.ts';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.ts';

describe('shutdown', () => {
  it('should finish in-flight requests, refuse new ones, then run stop hooks and close storage', async () => {
    const t = await buildTestApp({ PORT: '0', HOST: '127.0.0.1' });
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const app = t.app.get('/slow', async () => {
      entered();
      await gate;
      events.push('slow request answered');
      return { done: true };
    });
    t.deps.onShutdown.push(() => {
      events.push('first hook');
    });
    t.deps.onShutdown.push(async () => {
      events.push(`second hook (db open: ${pingDatabase(t.deps.db)})`);
    });
    const server = startServer(t.deps, app);

    const slow = fetch(`${server.url}/slow`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await inFlight;
    const stopped = server.stop('test');
    const refused = await fetch(`${server.url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(refused).toBe('refused');
    expect(events).toEqual([]);

    release();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await stopped;
    // Hooks run after the last request, last registered first, while storage is still open.
    expect(events).toEqual(['slow request answered', 'second hook (db open: true)', 'first hook']);
    expect(pingDatabase(t.deps.db)).toBe(false);
    expect(t.deps.lance.isOpen()).toBe(false);
    // A second stop() is the same shutdown, not a second one.
    await server.stop('again');
    rmSync(t.dir, { recursive: true, force: true });
  });
});
