// Remote embeddings over any OpenAI-compatible `POST {base}/embeddings`: batched, with per-attempt
// timeouts and capped exponential backoff on 429, 5xx and connection failures; abortable.
import * as v from 'valibot';
import { AppError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { Embedder, EmbedKind } from './types.ts';

/** Texts per request (OpenAI accepts up to 2048 inputs; smaller keeps a retry cheap). */
export const OPENAI_BATCH_SIZE = 64;
export const OPENAI_TIMEOUT_MS = 30_000;
/** Retries after the first attempt, so at most 1 + this many requests per batch. */
export const OPENAI_RETRIES_MAX = 4;
export const OPENAI_BACKOFF_BASE_MS = 500;
export const OPENAI_BACKOFF_CAP_MS = 8_000;
/** A `retry-after` longer than this is not waited out here: the caller's job retries later. */
export const OPENAI_RETRY_AFTER_CAP_MS = 30_000;

export type OpenAiEmbedderOptions = {
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  log: Logger;
  /** Known vector length; when absent it is learnt from a probe request at start. */
  dimension?: number;
  batchSize?: number;
  timeoutMs?: number;
  retriesMax?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  retryAfterCapMs?: number;
};

const ResponseSchema = v.object({
  data: v.array(
    v.object({
      embedding: v.array(v.number()),
      index: v.optional(v.number()),
    }),
  ),
});

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** `retry-after` in seconds or as an HTTP date, in ms; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function normalise(values: number[]): Float32Array {
  const vector = Float32Array.from(values);
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] ?? 0) / norm;
  return vector;
}

/** One failed attempt: whether to try again, and how long the server asked us to wait. */
type AttemptFailure = { error: AppError; retryAfterMs: number | null };

export class OpenAiEmbedder implements Embedder {
  readonly provider = 'openai' as const;
  readonly model: string;
  private knownDimension: number | null;
  private readonly url: string;
  private readonly options: Required<
    Omit<OpenAiEmbedderOptions, 'apiKey' | 'dimension' | 'log' | 'baseUrl' | 'model'>
  >;

  constructor(private readonly config: OpenAiEmbedderOptions) {
    this.model = config.model;
    this.knownDimension = config.dimension ?? null;
    this.url = `${config.baseUrl.replace(/\/+$/, '')}/embeddings`;
    this.options = {
      batchSize: config.batchSize ?? OPENAI_BATCH_SIZE,
      timeoutMs: config.timeoutMs ?? OPENAI_TIMEOUT_MS,
      retriesMax: config.retriesMax ?? OPENAI_RETRIES_MAX,
      backoffBaseMs: config.backoffBaseMs ?? OPENAI_BACKOFF_BASE_MS,
      backoffCapMs: config.backoffCapMs ?? OPENAI_BACKOFF_CAP_MS,
      retryAfterCapMs: config.retryAfterCapMs ?? OPENAI_RETRY_AFTER_CAP_MS,
    };
  }

  /** Vector length; learnt from the first response unless configured. */
  get dimension(): number {
    if (this.knownDimension === null) {
      throw new Error('OpenAiEmbedder.dimension read before start(): call start() first');
    }
    return this.knownDimension;
  }

  /** Learns the dimension with one small request (unless it was configured). */
  async start(signal?: AbortSignal): Promise<this> {
    if (this.knownDimension === null) await this.embed(['dimension probe'], 'query', signal);
    return this;
  }

  async embed(texts: string[], _kind: EmbedKind, signal?: AbortSignal): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.options.batchSize) {
      const batch = texts.slice(start, start + this.options.batchSize);
      vectors.push(...(await this.embedBatch(batch, signal)));
    }
    return vectors;
  }

  private async embedBatch(batch: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const result = await this.attempt(batch, signal);
      if (!('error' in result)) return result.vectors;
      const { error, retryAfterMs } = result;
      if (!error.retryable || attempt >= this.options.retriesMax) throw error;
      if (retryAfterMs !== null && retryAfterMs > this.options.retryAfterCapMs) throw error;
      const backoff = Math.min(
        this.options.backoffCapMs,
        this.options.backoffBaseMs * 2 ** attempt * (0.5 + Math.random() / 2),
      );
      const waitMs = Math.min(Math.max(retryAfterMs ?? 0, backoff), this.options.retryAfterCapMs);
      this.config.log.warn(
        {
          provider: 'openai',
          attempt: attempt + 1,
          waitMs,
          code: error.code,
          reason: error.message,
        },
        'embedding request failed; retrying',
      );
      await sleep(waitMs, signal);
    }
  }

  private async attempt(
    batch: string[],
    signal?: AbortSignal,
  ): Promise<{ vectors: Float32Array[] } | AttemptFailure> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.config.apiKey) headers.authorization = `Bearer ${this.config.apiKey}`;
    let response: Response;
    let body: string;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: this.model, input: batch }),
        signal: combined,
      });
      body = await response.text();
    } catch (cause) {
      // The caller's abort ends everything at once; our own timeout is one failed attempt.
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        return {
          error: new AppError(
            'UPSTREAM_TIMEOUT',
            `Embedding request timed out after ${this.options.timeoutMs} ms`,
            { retryable: true, cause },
          ),
          retryAfterMs: null,
        };
      }
      return {
        error: new AppError('UPSTREAM_FAILED', 'Embedding endpoint unreachable', {
          retryable: true,
          cause,
        }),
        retryAfterMs: null,
      };
    }
    if (!response.ok) {
      const retryable = RETRYABLE_STATUS.has(response.status);
      return {
        error: new AppError(
          response.status === 429 ? 'RATE_LIMITED' : 'UPSTREAM_FAILED',
          `Embedding endpoint answered HTTP ${response.status}`,
          { retryable, context: { status: response.status } },
        ),
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new AppError('UPSTREAM_FAILED', 'Embedding endpoint returned malformed JSON');
    }
    const parsed = v.safeParse(ResponseSchema, json);
    if (!parsed.success || parsed.output.data.length !== batch.length) {
      throw new AppError(
        'UPSTREAM_FAILED',
        `Embedding endpoint returned an unexpected body (expected ${batch.length} embeddings in data[])`,
      );
    }
    const data = parsed.output.data;
    const ordered = data.every((d) => d.index !== undefined)
      ? [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
      : data;
    const vectors = ordered.map((d) => normalise(d.embedding));
    const expected = this.knownDimension ?? vectors[0]?.length ?? 0;
    if (expected === 0 || vectors.some((vector) => vector.length !== expected)) {
      throw new AppError(
        'UPSTREAM_FAILED',
        `Embedding endpoint returned vectors of length ${vectors.map((x) => x.length).join(', ')}; expected ${expected}`,
      );
    }
    this.knownDimension = expected;
    return { vectors };
  }
}
