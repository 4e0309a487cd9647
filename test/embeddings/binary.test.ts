// The compiled binary loads a local model (onnxruntime-node's addon and libonnxruntime.so.1
// unpacked from the executable, sharp stubbed) and embeds text. One shared build: buildBinaryOnce().
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findCatalogModel } from '../../src/models/catalog.ts';
import { tempDir } from '../helpers/app.ts';
import { startFakeHub } from '../helpers/fake-embeddings-hub.ts';
import { buildBinaryOnce, runCli, startBinary } from '../helpers/process.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

const data = tempDir('answerdesk-bin-embeddings-');
let binary: string;

beforeAll(async () => {
  writeTinyModel(join(data.dir, 'models', 'tiny'), { dimension: 32 });
  binary = await buildBinaryOnce();
}, 240_000);

afterAll(() => data.cleanup());

/** Runs the binary to completion with a command; returns exit code and output. */
const run = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { command: [binary], cwd: data.dir, env: { DATA_DIR: data.dir, ...env } });

describe('compiled binary with local embeddings', () => {
  it('should start with the generated model loaded and report it in /readyz', async () => {
    const app = await startBinary({
      env: { DATA_DIR: data.dir, EMBEDDING_PROVIDER: 'local', EMBEDDING_MODEL: 'tiny' },
    });
    try {
      const body = (await (await fetch(`${app.url}/readyz`)).json()) as {
        embedding: string;
        checks: { name: string; ok: boolean; detail?: string }[];
      };
      expect(body.embedding).toBe('local');
      expect(body.checks.find((c) => c.name === 'embeddings')).toMatchObject({ ok: true });
      expect(app.logs()).toContain('"msg":"local embedding model loaded"');
      expect(app.logs()).toContain('"embedding":"local: tiny (32 dimensions)"');
    } finally {
      await app.stop();
    }
  });

  it('should embed text with the model (models check)', async () => {
    const { code, stdout, stderr } = await run(['models', 'check', 'tiny']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ model: 'tiny', dimension: 32, pooling: 'mean' });
    expect(report.similarity).toBeGreaterThan(0);
  });

  it('should fail at start with the directory and the pull command when the model is missing', async () => {
    const { code, stderr } = await run([], {
      EMBEDDING_PROVIDER: 'local',
      EMBEDDING_MODEL: 'absent',
      PORT: '0',
    });
    expect(code).toBe(1);
    expect(stderr).toContain(join(data.dir, 'models', 'absent'));
    expect(stderr).toContain('answerdesk models pull absent');
  });

  it('should list installed models', async () => {
    const { code, stdout } = await run(['models', 'list']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\* tiny\s+32 dims/m);
  });

  it('should pull from a mirror under the hub URL layout and install nothing on failure', async () => {
    const hub = startFakeHub(); // serves only its own tiny repo: the real model's files are 404
    try {
      const { code, stderr } = await run(['models', 'pull', '--base-url', hub.baseUrl]);
      const pinned = findCatalogModel('bge-small-en-v1.5');
      expect(code).toBe(1);
      expect(stderr).toContain('HTTP 404');
      expect(hub.requests[0]).toBe(
        `/Xenova/bge-small-en-v1.5/resolve/${pinned?.revision}/${pinned?.files[0]?.path}`,
      );
      expect(existsSync(join(data.dir, 'models', 'bge-small-en-v1.5'))).toBe(false);
      expect(readdirSync(join(data.dir, 'models')).filter((n) => n.startsWith('.'))).toEqual([]);
    } finally {
      hub.stop();
    }
  });
});
