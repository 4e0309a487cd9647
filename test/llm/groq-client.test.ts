import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test';
import { GroqLlmClient, REASONING_MIN_COMPLETION_TOKENS } from '../../src/llm/groq-client.ts';
import { RETRY_AFTER_MAX_MS, retryAfterMs, retryDelayMs } from '../../src/llm/retry.ts';
import type { LlmRequest } from '../../src/llm/types.ts';
import { createLogger } from '../../src/logging.ts';
import { type FakeGroq, startFakeGroq } from '../helpers/fake-groq.ts';

const log = createLogger('silent');
let groq: FakeGroq;

const client = (options: Partial<ConstructorParameters<typeof GroqLlmClient>[0]> = {}) =>
  new GroqLlmClient({
    apiKey: 'test-key',
    baseUrl: groq.baseUrl,
    firstTokenTimeoutMs: 2_000,
    totalTimeoutMs: 5_000,
    log,
    ...options,
  });

const request = (overrides: Partial<LlmRequest> = {}): LlmRequest => ({
  model: 'openai/gpt-oss-20b',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hello' },
  ],
  maxCompletionTokens: 300,
  purpose: 'test',
  ...overrides,
});

beforeAll(async () => {
  groq = await startFakeGroq();
});
afterAll(async () => {
  await groq.stop();
});
beforeEach(() => groq.reset());

describe('GroqLlmClient', () => {
  it('should stream deltas in order and return the text, usage and cost', async () => {
    groq.enqueue({ text: 'Hello there, how can I help?', reasoning: 'think' });
    const deltas: string[] = [];
    const result = await client().complete(request({ onDelta: (d) => deltas.push(d) }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(deltas.join('')).toBe('Hello there, how can I help?');
    expect(deltas.length).toBeGreaterThan(3);
    expect(result.value.text).toBe('Hello there, how can I help?');
    expect(result.value.usage.estimated).toBe(false);
    expect(result.value.usage.completionTokens).toBe(7);
    expect(result.value.usage.costUsd).toBeGreaterThan(0);
    expect(result.value.attempts).toBe(1);
    expect(result.value.firstTokenMs).not.toBeNull();
  });

  it('should call the host-only base URL with stream, low reasoning effort and enough tokens', async () => {
    await client().complete(request());
    const req = groq.requests[0];
    expect(req?.path).toBe('/openai/v1/chat/completions');
    expect(req?.authorization).toBe('Bearer test-key');
    expect(req?.body.stream).toBe(true);
    expect(req?.body.reasoning_effort).toBe('low');
    expect(req?.body.max_completion_tokens).toBe(REASONING_MIN_COMPLETION_TOKENS);
  });

  it('should not send reasoning options to a non-reasoning model', async () => {
    await client().complete(request({ model: 'llama-3.1-8b-instant' }));
    expect(groq.requests[0]?.body.reasoning_effort).toBeUndefined();
    expect(groq.requests[0]?.body.max_completion_tokens).toBe(300);
  });

  it('should price with LLM_PRICES overrides', async () => {
    groq.enqueue({ text: 'abcd'.repeat(10) });
    const result = await client({
      prices: { 'openai/gpt-oss-20b': { input: 0, output: 1_000_000 } },
    }).complete(request());
    expect(result.ok && result.value.usage.costUsd).toBe(10);
  });

  it('should estimate usage when the stream carries none', async () => {
    groq.enqueue({ text: 'abcdefgh', omitUsage: true });
    const result = await client().complete(request());
    expect(result.ok && result.value.usage.estimated).toBe(true);
    expect(result.ok && result.value.usage.completionTokens).toBe(2);
  });

  it('should retry a 429 honouring a short retry-after, then succeed', async () => {
    groq.enqueue({ status: 429, retryAfter: '0' }, { text: 'fine' });
    const result = await client().complete(request());
    expect(result.ok && result.value.text).toBe('fine');
    expect(result.ok && result.value.attempts).toBe(2);
    expect(groq.requests).toHaveLength(2);
  });

  it('should give up on 5xx after two retries (three requests in all)', async () => {
    groq.enqueue({ status: 500 }, { status: 502 }, { status: 503 }, { text: 'never' });
    const result = await client().complete(request());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.kind).toBe('upstream');
    expect(result.error.details.attempts).toBe(3);
    expect(groq.requests).toHaveLength(3);
  });

  it('should fail at once when retry-after is longer than the cap, never sleeping unbounded', async () => {
    groq.enqueue({ status: 429, retryAfter: '3600' });
    const startedAt = performance.now();
    const result = await client().complete(request());
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(!result.ok && result.error.kind).toBe('rate_limited');
    expect(groq.requests).toHaveLength(1);
  });

  it('should not retry a 4xx other than 429', async () => {
    groq.enqueue({ status: 400 });
    const result = await client().complete(request());
    expect(!result.ok && result.error.kind).toBe('bad_request');
    expect(groq.requests).toHaveLength(1);
  });

  it('should time out when the first token is late', async () => {
    groq.enqueue({ text: 'late', firstTokenDelayMs: 3_000 });
    const startedAt = performance.now();
    const result = await client({ firstTokenTimeoutMs: 150 }).complete(request());
    expect(performance.now() - startedAt).toBeLessThan(1_500);
    expect(!result.ok && result.error.kind).toBe('timeout_first_token');
    expect(!result.ok && result.error.details.producedOutput).toBe(false);
  });

  it('should time out when a stream stalls after some tokens, without retrying', async () => {
    groq.enqueue({ text: 'partial answer that stalls', stallAfterTokens: 2 });
    const deltas: string[] = [];
    const startedAt = performance.now();
    const result = await client({ totalTimeoutMs: 300 }).complete(
      request({ onDelta: (d) => deltas.push(d) }),
    );
    expect(performance.now() - startedAt).toBeLessThan(1_500);
    expect(!result.ok && result.error.kind).toBe('timeout_total');
    expect(!result.ok && result.error.details.producedOutput).toBe(true);
    expect(deltas.join('')).toBe('partial ');
    expect(groq.requests).toHaveLength(1);
    // The timeout closed the connection for real: the server saw the client hang up.
    expect(await groq.requests[0]?.closed).toBe('client_aborted');
  });

  it('should stop the request when the caller aborts', async () => {
    groq.enqueue({ text: 'stalls forever', stallAfterTokens: 1 });
    const controller = new AbortController();
    const startedAt = performance.now();
    const pending = client().complete(
      request({ signal: controller.signal, onDelta: () => controller.abort() }),
    );
    const result = await pending;
    expect(performance.now() - startedAt).toBeLessThan(1_500);
    expect(!result.ok && result.error.kind).toBe('aborted');
    expect(await groq.requests[0]?.closed).toBe('client_aborted');
  });

  it('should treat an empty visible reply as a failure', async () => {
    groq.enqueue({ text: '', reasoning: 'only reasoning' });
    const result = await client().complete(request());
    expect(!result.ok && result.error.kind).toBe('empty_output');
  });

  it('should fail fast without an API key', async () => {
    const result = await client({ apiKey: undefined }).complete(request());
    expect(!result.ok && result.error.kind).toBe('not_configured');
    expect(groq.requests).toHaveLength(0);
  });

  it('should report a connection error when the host is unreachable', async () => {
    const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') });
    const deadUrl = `http://127.0.0.1:${probe.port}`;
    await probe.stop(true);
    const result = await client({ baseUrl: deadUrl }).complete(request());
    expect(!result.ok && result.error.kind).toBe('connection');
    expect(!result.ok && result.error.details.attempts).toBe(3);
  });
});

describe('retry policy', () => {
  it('should read retry-after in seconds, milliseconds and as a date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2_000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150' }))).toBe(150);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(
      3_000,
    );
    expect(retryAfterMs(new Headers())).toBeNull();
  });

  it('should cap the wait and refuse one that does not fit the deadline', () => {
    expect(retryDelayMs(1, RETRY_AFTER_MAX_MS + 1, 60_000)).toBeNull();
    expect(retryDelayMs(1, 1_000, 60_000)).toBe(1_000);
    expect(retryDelayMs(1, 1_000, 500)).toBeNull();
    for (let retry = 1; retry <= 10; retry++) {
      expect(retryDelayMs(retry, null, 60_000, () => 1)).toBeLessThanOrEqual(2_000);
    }
  });
});
