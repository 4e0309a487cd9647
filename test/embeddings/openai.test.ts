import { afterAll, beforeEach, describe, expect, it } from 'bun:test';
import { createEmbedder } from '../../src/embeddings/index.ts';
import { OpenAiEmbedder, parseRetryAfter } from '../../src/embeddings/openai.ts';
import { AppError } from '../../src/errors.ts';
import { createLogger } from '../../src/logging.ts';
import { startFakeEmbeddings } from '../helpers/fake-embeddings.ts';

const log = createLogger('silent');
const fake = startFakeEmbeddings({ dimension: 8 });
afterAll(() => fake.stop());

// Backoff is real time: keep it in milliseconds so retry tests stay fast without sleeping.
const fast = { backoffBaseMs: 1, backoffCapMs: 5, retryAfterCapMs: 2_000 };

function embedder(overrides: Partial<ConstructorParameters<typeof OpenAiEmbedder>[0]> = {}) {
  return new OpenAiEmbedder({
    baseUrl: fake.baseUrl,
    apiKey: 'sk-test-key',
    model: 'fake-embed',
    log,
    ...fast,
    ...overrides,
  });
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

beforeEach(() => {
  fake.requests.length = 0;
  fake.setMode({ kind: 'ok' });
});

describe('OpenAiEmbedder', () => {
  it('should learn the dimension from the first response and return normalised vectors in order', async () => {
    const e = await embedder().start();
    expect(e.dimension).toBe(8);
    const [a, b, c] = await e.embed(
      ['reset my password', 'password reset', 'pizza recipe'],
      'passage',
    );
    expect(a).toBeInstanceOf(Float32Array);
    for (const v of [a, b, c]) expect(norm(v!)).toBeCloseTo(1, 5);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
    expect(fake.requests.at(-1)).toMatchObject({
      model: 'fake-embed',
      authorization: 'Bearer sk-test-key',
    });
  });

  it('should split inputs into batches of the configured size', async () => {
    const e = await embedder({ batchSize: 3, dimension: 8 }).start();
    const texts = Array.from({ length: 7 }, (_, i) => `text ${i}`);
    const vectors = await e.embed(texts, 'passage');
    expect(vectors).toHaveLength(7);
    expect(fake.requests.map((r) => r.input.length)).toEqual([3, 3, 1]);
    expect(fake.requests.flatMap((r) => r.input)).toEqual(texts);
  });

  it('should retry a 429 honouring retry-after and then succeed', async () => {
    fake.enqueue(
      { kind: 'status', status: 429, retryAfter: '0.05' },
      { kind: 'status', status: 500 },
    );
    const started = performance.now();
    const vectors = await embedder({ dimension: 8 }).embed(['hello'], 'query');
    expect(vectors).toHaveLength(1);
    expect(fake.requests).toHaveLength(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('should give up after the retry budget with a retryable upstream error', async () => {
    fake.setMode({ kind: 'status', status: 503 });
    const error = await embedder({ dimension: 8, retriesMax: 2 })
      .embed(['hello'], 'query')
      .catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.retryable).toBe(true);
    expect(fake.requests).toHaveLength(3);
  });

  it('should not wait out a retry-after beyond its cap', async () => {
    fake.setMode({ kind: 'status', status: 429, retryAfter: '3600' });
    const error = await embedder({ dimension: 8 })
      .embed(['hello'], 'query')
      .catch((e) => e);
    expect(error.code).toBe('RATE_LIMITED');
    expect(fake.requests).toHaveLength(1);
  });

  it('should not retry a 401', async () => {
    fake.setMode({ kind: 'status', status: 401 });
    const error = await embedder({ dimension: 8 })
      .embed(['hello'], 'query')
      .catch((e) => e);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain('sk-test-key');
    expect(fake.requests).toHaveLength(1);
  });

  it('should time out a slow answer per attempt and retry it', async () => {
    fake.enqueue({ kind: 'slow', delayMs: 500 });
    const vectors = await embedder({ dimension: 8, timeoutMs: 100 }).embed(['hello'], 'query');
    expect(vectors).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('should report a timeout when every attempt is too slow', async () => {
    fake.setMode({ kind: 'slow', delayMs: 500 });
    const error = await embedder({ dimension: 8, timeoutMs: 50, retriesMax: 1 })
      .embed(['hello'], 'query')
      .catch((e) => e);
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(fake.requests).toHaveLength(2);
  });

  it('should reject vectors of the wrong dimension', async () => {
    const e = await embedder().start();
    fake.setMode({ kind: 'wrong-dimension', dimension: 5 });
    const error = await e.embed(['hello'], 'query').catch((x) => x);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.message).toContain('expected 8');
  });

  it('should reject malformed JSON without retrying', async () => {
    fake.setMode({ kind: 'malformed' });
    const error = await embedder({ dimension: 8 })
      .embed(['hello'], 'query')
      .catch((e) => e);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.message).toContain('malformed JSON');
    expect(fake.requests).toHaveLength(1);
  });

  it('should stop at once when the caller aborts during a backoff', async () => {
    fake.setMode({ kind: 'status', status: 429, retryAfter: '1' });
    const controller = new AbortController();
    const pending = embedder({ dimension: 8 }).embed(['hello'], 'query', controller.signal);
    // Abort once the first attempt has arrived (the client then waits a second to retry).
    await fake.waitForRequests(1);
    controller.abort(new Error('caller gave up'));
    const error = await pending.catch((e) => e);
    expect(error.message).toBe('caller gave up');
    expect(fake.requests).toHaveLength(1);
  });

  it('should retry connection errors and then fail with a retryable error', async () => {
    const closed = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
    const baseUrl = `http://127.0.0.1:${closed.port}/v1`;
    closed.stop(true);
    const error = await embedder({ baseUrl, dimension: 8, retriesMax: 1 })
      .embed(['hello'], 'query')
      .catch((e) => e);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.retryable).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('should read seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});

describe('createEmbedder (openai)', () => {
  const base = { DATA_DIR: '/nonexistent', EMBEDDING_PROVIDER: 'openai' as const };

  it('should refuse to start without EMBEDDING_BASE_URL', async () => {
    const error = await createEmbedder(
      {
        ...base,
        EMBEDDING_MODEL: 'm',
        EMBEDDING_BASE_URL: undefined,
        EMBEDDING_API_KEY: undefined,
      },
      log,
    ).catch((e) => e);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain('EMBEDDING_BASE_URL');
  });

  it('should probe the endpoint at start and know the dimension', async () => {
    const e = await createEmbedder(
      {
        ...base,
        EMBEDDING_MODEL: 'fake-embed',
        EMBEDDING_BASE_URL: fake.baseUrl,
        EMBEDDING_API_KEY: 'sk-test-key',
      },
      log,
    );
    expect(e?.provider).toBe('openai');
    expect(e?.dimension).toBe(8);
  });

  it('should return null for none', async () => {
    const e = await createEmbedder(
      {
        ...base,
        EMBEDDING_PROVIDER: 'none',
        EMBEDDING_MODEL: undefined,
        EMBEDDING_BASE_URL: undefined,
        EMBEDDING_API_KEY: undefined,
      },
      log,
    );
    expect(e).toBeNull();
  });
});
