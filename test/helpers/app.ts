// buildTestApp(): the real app over real SQLite and LanceDB files in a temporary data dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.ts';
import type { Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { buildDeps, registerJobs } from '../../src/deps.ts';
import { createLogger } from '../../src/logging.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export type TestApp = Awaited<ReturnType<typeof buildTestApp>>;

/** The app's clock in tests: the real time until `pin(at)`, again after `unpin()`. */
export class TestClock implements Clock {
  #pinned: number | null = null;
  now(): number {
    return this.#pinned ?? Date.now();
  }
  pin(at: Date): void {
    this.#pinned = at.getTime();
  }
  unpin(): void {
    this.#pinned = null;
  }
}

/** Makes a temporary data dir; `cleanup()` removes it. */
export function tempDir(prefix = 'answerdesk-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function buildTestApp(
  env: Record<string, string> = {},
  /**
   * `embedder`: use this one (e.g. a deterministic fake) instead of the configured provider;
   * `autoPull`: the start-up pull's catalog (a fake hub's models) and jitter.
   */
  opts: Omit<Parameters<typeof buildDeps>[2], 'clock'> = {},
) {
  const { dir, cleanup } = tempDir();
  const config = loadConfig({
    DATA_DIR: dir,
    ADMIN_TOKEN,
    SECRET_KEY: 'test-secret-key-0123456789abcdef',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const log = createLogger(config.LOG_LEVEL);
  const clock = new TestClock();
  const deps = await buildDeps(config, log, { ...opts, clock });
  // As serve() does; the worker is not started: tests run jobs with drain().
  registerJobs(deps);
  const app = createApp(deps);
  return {
    app,
    deps,
    clock,
    dir,
    /** Sends a request through the app (no network), with the admin token unless told not to. */
    request: (path: string, init: RequestInit & { json?: unknown; auth?: string | false } = {}) => {
      const { json, auth, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (auth !== false) headers.set('authorization', `Bearer ${auth ?? ADMIN_TOKEN}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return app.handle(
        new Request(`http://localhost${path}`, {
          ...rest,
          headers,
          body: json !== undefined ? JSON.stringify(json) : rest.body,
        }),
      );
    },
    /** Closes storage like the server's stop does (the LanceDB handles too), then removes the dir. */
    close: async () => {
      // A test may have started the model pull: no retry may wake on closed storage.
      await deps.modelAutoPull.stop();
      deps.knowledge.close();
      deps.lance.close();
      deps.db.close();
      cleanup();
    },
  };
}
