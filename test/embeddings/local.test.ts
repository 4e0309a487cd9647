import { afterAll, beforeAll, describe, expect, it, spyOn } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmbedder } from '../../src/embeddings/index.ts';
import { LocalEmbedder } from '../../src/embeddings/local.ts';
import type { Embedder } from '../../src/embeddings/types.ts';
import { createLogger } from '../../src/logging.ts';
import { buildTestApp, tempDir } from '../helpers/app.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

const log = createLogger('silent');
const data = tempDir('answerdesk-embeddings-');
const modelsDir = join(data.dir, 'models');

const config = (model: string | undefined) => ({
  DATA_DIR: data.dir,
  EMBEDDING_PROVIDER: 'local' as const,
  EMBEDDING_MODEL: model,
  EMBEDDING_BASE_URL: undefined,
  EMBEDDING_API_KEY: undefined,
});

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);
const norm = (v: Float32Array) => Math.sqrt(dot(v, v));

let embedder: Embedder;
let fetchSpy: ReturnType<typeof spyOn<typeof globalThis, 'fetch'>>;

beforeAll(async () => {
  writeTinyModel(join(modelsDir, 'tiny'), { dimension: 32 });
  writeTinyModel(join(modelsDir, 'tiny-e5'), { dimension: 24, seed: 7 });
  writeTinyModel(join(modelsDir, 'tiny-q8'), { dimension: 16, onnxFile: 'model_quantized.onnx' });
  // Nothing in the local path may touch the network: every fetch is recorded (and refused).
  fetchSpy = spyOn(globalThis, 'fetch').mockImplementation((() =>
    Promise.reject(new Error('network used'))) as unknown as typeof fetch);
  const created = await createEmbedder(config('tiny'), log);
  if (!created) throw new Error('expected an embedder');
  embedder = created;
});

afterAll(() => {
  fetchSpy.mockRestore();
  data.cleanup();
});

describe('local embedder (tiny generated model, production path)', () => {
  it('should load the model directory and learn the dimension from the model output', () => {
    expect(embedder).toBeInstanceOf(LocalEmbedder);
    expect(embedder.provider).toBe('local');
    expect(embedder.model).toBe('tiny');
    expect(embedder.dimension).toBe(32);
  });

  it('should return L2-normalised vectors of the model dimension, in order', async () => {
    const vectors = await embedder.embed(['hello', 'how do I reset my password', ''], 'passage');
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(32);
      expect(norm(v)).toBeCloseTo(1, 4);
    }
  });

  it('should place texts that share words closer than unrelated ones', async () => {
    const [query, related, unrelated] = await embedder.embed(
      [
        'how do I reset my password',
        'password reset help for your account',
        'pizza recipe with mountain river music',
      ],
      'passage',
    );
    expect(dot(query!, related!)).toBeGreaterThan(dot(query!, unrelated!) + 0.1);
  });

  it('should give the same vector for a text alone or inside a padded batch', async () => {
    const texts = Array.from({ length: 37 }, (_, i) =>
      i % 3 === 0 ? `order ${i} shipping to europe takes a few days please` : `refund ${i}`,
    );
    const batched = await embedder.embed(texts, 'passage');
    expect(batched).toHaveLength(37);
    for (const i of [0, 1, 17, 36]) {
      const [alone] = await embedder.embed([texts[i]!], 'passage');
      expect(dot(alone!, batched[i]!)).toBeCloseTo(1, 4);
    }
  });

  it('should return nothing for no texts', async () => {
    expect(await embedder.embed([], 'query')).toEqual([]);
  });

  it('should stop between batches when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const error = await embedder.embed(['a'], 'query', controller.signal).catch((e) => e);
    expect(error.message).toBe('stop');
  });

  it('should prefix queries and passages for an e5 model, and not for others', async () => {
    const e5 = await createEmbedder(config('tiny-e5'), log);
    const [query] = await e5!.embed(['refund policy'], 'query');
    const [passage] = await e5!.embed(['refund policy'], 'passage');
    expect(dot(query!, passage!)).toBeLessThan(0.999);
    const [plainQuery] = await embedder.embed(['refund policy'], 'query');
    const [plainPassage] = await embedder.embed(['refund policy'], 'passage');
    expect(dot(plainQuery!, plainPassage!)).toBeCloseTo(1, 5);
  });

  it('should load a quantized file name (onnx/model_quantized.onnx) as dtype q8', async () => {
    const q8 = (await createEmbedder(config('tiny-q8'), log)) as LocalEmbedder;
    expect(q8.info.dtype).toBe('q8');
    expect(q8.dimension).toBe(16);
  });

  it('should fail at start naming the directory and the pull command for an unknown model', async () => {
    const error = await createEmbedder(config('no-such-model'), log).catch((e) => e);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(join(modelsDir, 'no-such-model'));
    expect(error.message).toContain('answerdesk models pull no-such-model');
  });

  it('should fail with a local error, not a download, when a model file is broken', async () => {
    writeTinyModel(join(modelsDir, 'broken'));
    writeFileSync(join(modelsDir, 'broken', 'onnx', 'model.onnx'), 'not an onnx graph');
    const error = await createEmbedder(config('broken'), log).catch((e) => e);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain('failed to load');
  });

  it('should never have used the network', () => {
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('app wiring', () => {
  it('should expose the embedder as deps.embedder and report it in /readyz', async () => {
    const app = await buildTestApp({
      EMBEDDING_PROVIDER: 'local',
      EMBEDDING_MODEL: 'tiny',
      DATA_DIR: data.dir,
    });
    try {
      expect(app.deps.embedder?.dimension).toBe(32);
      const response = await app.request('/readyz', { auth: false });
      const body = (await response.json()) as {
        embedding: string;
        checks: { name: string; ok: boolean; detail?: string }[];
      };
      expect(body.embedding).toBe('local');
      const check = body.checks.find((c) => c.name === 'embeddings');
      expect(check?.ok).toBe(true);
      expect(check?.detail).toContain('tiny');
    } finally {
      await app.close();
    }
  });
});
