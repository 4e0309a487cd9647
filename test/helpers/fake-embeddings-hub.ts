// A local fake of the Hugging Face hub on 127.0.0.1 serving a generated tiny model under the real
// URL layout `/<repo>/resolve/<revision>/<path>`, plus the catalog entry that pins it.
import { createHash } from 'node:crypto';
import type { CatalogModel } from '../../src/models/catalog.ts';
import { type TinyModelOptions, tinyModelFiles } from './tiny-model.ts';

export const TINY_REPO = 'answerdesk-test/tiny-embedder';
export const TINY_REVISION = '0123456789abcdef0123456789abcdef01234567';

/** `port`: listen there (a hub that comes back where it was); default: a free port. */
export function startFakeHub(options: TinyModelOptions & { port?: number } = {}) {
  const files = tinyModelFiles(options);
  const served = new Map<string, Uint8Array>(Object.entries(files));
  const requests: string[] = [];
  let firstRequest: () => void = () => {};
  /** Resolves when the hub is first asked for anything. */
  const asked = new Promise<void>((resolve) => {
    firstRequest = resolve;
  });
  /** Paths answered with HTTP 500 the next N times they are asked for. */
  const failures = new Map<string, number>();

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: options.port ?? 0,
    fetch(request) {
      const { pathname } = new URL(request.url);
      requests.push(pathname);
      firstRequest();
      const prefix = `/${TINY_REPO}/resolve/${TINY_REVISION}/`;
      if (!pathname.startsWith(prefix)) return new Response('Entry not found', { status: 404 });
      const path = decodeURIComponent(pathname.slice(prefix.length));
      const left = failures.get(path) ?? 0;
      if (left > 0) {
        failures.set(path, left - 1);
        return new Response('upstream hiccup', { status: 500 });
      }
      const body = served.get(path);
      return body
        ? new Response(new Blob([body as Uint8Array<ArrayBuffer>]))
        : new Response('Entry not found', { status: 404 });
    },
  });

  const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

  /** A catalog entry pinning the served files (`unknownChecksums`: pin none, trust on first use). */
  const catalogEntry = (name: string, unknownChecksums = false): CatalogModel => ({
    name,
    repo: TINY_REPO,
    revision: TINY_REVISION,
    files: Object.entries(files).map(([path, data]) => ({
      path,
      sha256: unknownChecksums ? null : sha256(data),
      bytes: data.length,
    })),
    pooling: 'mean',
    queryPrefix: '',
    passagePrefix: '',
    dimension: options.dimension ?? 32,
    description: 'tiny generated test model',
  });

  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    port: server.port ?? 0,
    files,
    requests,
    asked,
    catalogEntry,
    /** Serves different bytes for `path` from now on (a tampered mirror). */
    tamper: (path: string) => {
      const original = served.get(path) ?? new Uint8Array();
      const changed = Uint8Array.from(original);
      changed[changed.length - 1] = (changed[changed.length - 1] ?? 0) ^ 0xff;
      served.set(path, changed);
    },
    restore: () => {
      for (const [path, data] of Object.entries(files)) served.set(path, data);
    },
    failNext: (path: string, times: number) => failures.set(path, times),
    stop: () => server.stop(true),
  };
}

export type FakeHub = ReturnType<typeof startFakeHub>;
