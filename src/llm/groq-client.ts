// GroqLlmClient: the LlmClient over groq-sdk, streamed, with our own timeouts and bounded retries.
import Groq from 'groq-sdk';
import type { Config } from '../config.ts';
import { err, ok, type Result } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { DEFAULT_PRICES, estimateCostUsd, type PriceTable } from './prices.ts';
import { LLM_RETRIES_MAX, retryAfterMs, retryDelayMs, sleep } from './retry.ts';
import {
  estimateTokens,
  type LlmClient,
  type LlmCompletion,
  LlmError,
  type LlmFailureKind,
  type LlmRequest,
  type LlmUsage,
} from './types.ts';

/** Reasoning models spend completion tokens on hidden reasoning first (docs/notes/stack.md §9). */
export const REASONING_MIN_COMPLETION_TOKENS = 1024;

/** Reasoning models spend part of the completion budget on hidden reasoning. */
export const isReasoningModel = (model: string) => /gpt-oss|qwen3|deepseek-r1/i.test(model);

/**
 * Per-family reasoning options (Groq docs, "Reasoning"): gpt-oss takes `reasoning_effort`
 * (low keeps latency and cost down); Qwen 3 / DeepSeek R1 default to `<think>` tags inside the
 * content, so ask for the reasoning in its own field. Other models get neither (they would 400).
 */
function reasoningOptions(model: string) {
  if (/gpt-oss/i.test(model)) return { reasoning_effort: 'low' as const };
  if (/qwen3|deepseek-r1/i.test(model)) return { reasoning_format: 'parsed' as const };
  return {};
}

type UsageLike = { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };

type GroqClientOptions = {
  apiKey: string | undefined;
  /** Host only: the SDK appends `/openai/v1/...` (docs/notes/stack.md §9). */
  baseUrl: string;
  firstTokenTimeoutMs: number;
  totalTimeoutMs: number;
  prices?: PriceTable;
  log: Logger;
};

class Attempt {
  text = '';
  firstTokenAt: number | null = null;
  producedOutput = false;
  usage: UsageLike | null = null;
  finishReason: string | null = null;
  model: string | null = null;
}

export class GroqLlmClient implements LlmClient {
  readonly configured: boolean;
  private readonly client: Groq | null;
  private readonly prices: PriceTable;

  constructor(private readonly options: GroqClientOptions) {
    this.configured = Boolean(options.apiKey);
    this.prices = { ...DEFAULT_PRICES, ...options.prices };
    // The SDK's own retries sleep for any `retry-after` and ignore the AbortSignal: off.
    this.client = options.apiKey
      ? new Groq({ apiKey: options.apiKey, baseURL: options.baseUrl, maxRetries: 0 })
      : null;
  }

  async complete(request: LlmRequest): Promise<Result<LlmCompletion, LlmError>> {
    const startedAt = performance.now();
    if (!this.client) {
      return err(
        new LlmError('not_configured', 'GROQ_API_KEY is not set', {
          attempts: 0,
          producedOutput: false,
        }),
      );
    }
    const totalTimeoutMs = request.totalTimeoutMs ?? this.options.totalTimeoutMs;
    const firstTokenTimeoutMs = request.firstTokenTimeoutMs ?? this.options.firstTokenTimeoutMs;
    const deadline = startedAt + totalTimeoutMs;
    let attempts = 0;
    for (;;) {
      attempts++;
      const attempt = new Attempt();
      const failure = await this.runAttempt(request, attempt, {
        startedAt,
        deadline,
        firstTokenTimeoutMs,
      });
      if (!failure) {
        const usage = this.usageOf(request, attempt);
        const text = attempt.text;
        const durationMs = performance.now() - startedAt;
        if (text.trim() === '') {
          return err(
            new LlmError('empty_output', 'The model returned no visible text', {
              attempts,
              producedOutput: true,
              usage,
            }),
          );
        }
        this.options.log.debug(
          {
            purpose: request.purpose,
            model: request.model,
            attempts,
            durationMs: Math.round(durationMs),
            ...usage,
          },
          'llm call',
        );
        return ok({
          text,
          model: attempt.model ?? request.model,
          usage,
          firstTokenMs: attempt.firstTokenAt === null ? null : attempt.firstTokenAt - startedAt,
          durationMs,
          attempts,
          finishReason: attempt.finishReason,
        });
      }
      const retryable =
        (failure.kind === 'rate_limited' ||
          failure.kind === 'upstream' ||
          failure.kind === 'connection') &&
        !attempt.producedOutput &&
        attempts <= LLM_RETRIES_MAX;
      const delayMs = retryable
        ? retryDelayMs(attempts, failure.retryAfterMs, deadline - performance.now())
        : null;
      // A caller's abort (operator took over, client left) is not a failure worth a warning.
      const level = request.signal?.aborted ? 'debug' : 'warn';
      this.options.log[level](
        {
          purpose: request.purpose,
          model: request.model,
          attempt: attempts,
          kind: failure.kind,
          status: failure.status,
          retryInMs: delayMs,
        },
        'llm call failed',
      );
      if (delayMs === null || !(await sleep(delayMs, request.signal))) {
        const kind = request.signal?.aborted ? 'aborted' : failure.kind;
        return err(
          new LlmError(kind, failure.message, {
            attempts,
            producedOutput: attempt.producedOutput,
            status: failure.status,
            usage: attempt.producedOutput ? this.usageOf(request, attempt) : undefined,
            cause: failure.cause,
          }),
        );
      }
    }
  }

  /** One HTTP request; returns null on success or the classified failure. */
  private async runAttempt(
    request: LlmRequest,
    attempt: Attempt,
    timing: { startedAt: number; deadline: number; firstTokenTimeoutMs: number },
  ): Promise<{
    kind: LlmFailureKind;
    message: string;
    status?: number;
    retryAfterMs: number | null;
    cause?: unknown;
  } | null> {
    const client = this.client as Groq;
    const controller = new AbortController();
    let timedOut: 'timeout_first_token' | 'timeout_total' | null = null;
    const abortWith = (why: 'timeout_first_token' | 'timeout_total') => () => {
      timedOut ??= why;
      controller.abort();
    };
    const remainingMs = Math.max(1, timing.deadline - performance.now());
    const totalTimer = setTimeout(abortWith('timeout_total'), remainingMs);
    // Time to first token counts from the start of the call, across retries.
    const firstTokenLeftMs = Math.max(
      1,
      Math.min(remainingMs, timing.startedAt + timing.firstTokenTimeoutMs - performance.now()),
    );
    let firstTokenTimer: ReturnType<typeof setTimeout> | null = setTimeout(
      abortWith('timeout_first_token'),
      firstTokenLeftMs,
    );
    const onOuterAbort = () => controller.abort();
    request.signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (request.signal?.aborted) controller.abort();
    const reasoning = isReasoningModel(request.model);
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(new Error('aborted')), {
        once: true,
      });
    });
    aborted.catch(() => {});
    try {
      const stream = await Promise.race([
        client.chat.completions.create(
          {
            model: request.model,
            messages: request.messages,
            stream: true,
            temperature: request.temperature ?? 0.2,
            max_completion_tokens: reasoning
              ? Math.max(request.maxCompletionTokens, REASONING_MIN_COMPLETION_TOKENS)
              : request.maxCompletionTokens,
            ...reasoningOptions(request.model),
          },
          { signal: controller.signal, maxRetries: 0, timeout: Math.ceil(remainingMs) + 1_000 },
        ),
        aborted,
      ]);
      const iterator = stream[Symbol.asyncIterator]();
      for (;;) {
        // Racing the abort keeps a stalled body from outliving the timeout even if the
        // underlying reader were slow to notice the aborted fetch.
        const next = await Promise.race([iterator.next(), aborted]);
        if (next.done) break;
        const chunk = next.value;
        attempt.model ??= chunk.model ?? null;
        const choice = chunk.choices[0];
        const delta = choice?.delta;
        // Reasoning deltas prove the model is alive (first-token timer) but are never shown.
        if (delta?.content || delta?.reasoning) {
          attempt.producedOutput = true;
          if (firstTokenTimer) {
            clearTimeout(firstTokenTimer);
            firstTokenTimer = null;
          }
        }
        if (delta?.content) {
          attempt.firstTokenAt ??= performance.now();
          attempt.text += delta.content;
          request.onDelta?.(delta.content);
        }
        if (choice?.finish_reason) attempt.finishReason = choice.finish_reason;
        const usage = (chunk as { usage?: UsageLike | null }).usage ?? chunk.x_groq?.usage ?? null;
        if (usage) attempt.usage = usage;
      }
      return null;
    } catch (cause) {
      if (request.signal?.aborted) {
        return { kind: 'aborted', message: 'The request was aborted', retryAfterMs: null, cause };
      }
      if (timedOut) {
        return {
          kind: timedOut,
          message:
            timedOut === 'timeout_first_token'
              ? 'No token from the model before the first-token timeout'
              : 'The model did not finish before the total timeout',
          retryAfterMs: null,
          cause,
        };
      }
      return classify(cause);
    } finally {
      clearTimeout(totalTimer);
      if (firstTokenTimer) clearTimeout(firstTokenTimer);
      request.signal?.removeEventListener('abort', onOuterAbort);
      // Closes the connection if we stopped early (an error after headers, a thrown callback).
      controller.abort();
    }
  }

  private usageOf(request: LlmRequest, attempt: Attempt): LlmUsage {
    const model = attempt.model ?? request.model;
    const reported = attempt.usage;
    const promptTokens =
      reported?.prompt_tokens ?? estimateTokens(request.messages.map((m) => m.content).join('\n'));
    const completionTokens = reported?.completion_tokens ?? estimateTokens(attempt.text);
    return {
      promptTokens,
      completionTokens,
      totalTokens: reported?.total_tokens ?? promptTokens + completionTokens,
      costUsd: estimateCostUsd(this.prices, model, promptTokens, completionTokens),
      estimated: reported === null,
    };
  }
}

function classify(cause: unknown): {
  kind: LlmFailureKind;
  message: string;
  status?: number;
  retryAfterMs: number | null;
  cause?: unknown;
} {
  if (cause instanceof Groq.APIConnectionError) {
    return { kind: 'connection', message: 'Could not reach the LLM', retryAfterMs: null, cause };
  }
  if (cause instanceof Groq.APIError && typeof cause.status === 'number') {
    const status = cause.status;
    const headers = cause.headers instanceof Headers ? cause.headers : undefined;
    if (status === 429) {
      return {
        kind: 'rate_limited',
        message: 'The LLM rate-limited the request (429)',
        status,
        retryAfterMs: retryAfterMs(headers),
        cause,
      };
    }
    if (status >= 500) {
      return {
        kind: 'upstream',
        message: `The LLM failed (${status})`,
        status,
        retryAfterMs: retryAfterMs(headers),
        cause,
      };
    }
    return {
      kind: 'bad_request',
      message: `The LLM rejected the request (${status})`,
      status,
      retryAfterMs: null,
      cause,
    };
  }
  if (cause instanceof Groq.GroqError && !(cause instanceof Groq.APIError)) {
    // The SDK refused the request before sending it (a bad option): retrying cannot help.
    return {
      kind: 'bad_request',
      message: 'The LLM request was invalid',
      retryAfterMs: null,
      cause,
    };
  }
  // A body that breaks mid-stream (socket reset, malformed SSE) surfaces as a plain error.
  return { kind: 'connection', message: 'The LLM stream broke', retryAfterMs: null, cause };
}

/** The real client from configuration. */
export function createLlmClient(config: Config, log: Logger): GroqLlmClient {
  return new GroqLlmClient({
    apiKey: config.GROQ_API_KEY,
    baseUrl: config.GROQ_BASE_URL ?? 'https://api.groq.com',
    firstTokenTimeoutMs: config.LLM_FIRST_TOKEN_TIMEOUT_MS,
    totalTimeoutMs: config.LLM_TOTAL_TIMEOUT_MS,
    prices: config.LLM_PRICES,
    log,
  });
}
