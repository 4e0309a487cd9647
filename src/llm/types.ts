// The LLM port: one streaming chat completion with timeouts, bounded retries and usage.
import { AppError, type Result } from '../errors.ts';

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** Rough token count (~4 characters a token): usage the server did not report, prompt budgets. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

export type LlmUsage = {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Estimated from the price table (USD); 0 for a model without a known price. */
  costUsd: number;
  /** True when the upstream sent no usage and the counts were estimated from characters. */
  estimated: boolean;
};

export type LlmRequest = {
  model: string;
  messages: ChatMessage[];
  /** Visible-reply budget; reasoning models get at least REASONING_MIN_COMPLETION_TOKENS. */
  maxCompletionTokens: number;
  temperature?: number;
  /** Aborting it stops the HTTP request for real (and any retry wait). */
  signal?: AbortSignal;
  /** Called with each visible content delta, in order, as it arrives. */
  onDelta?: (text: string) => void;
  /** Overrides of the configured timeouts (the total covers every attempt and retry wait). */
  firstTokenTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** What the call is for, in logs: `answer`, `condense`, … */
  purpose: string;
};

export type LlmCompletion = {
  text: string;
  model: string;
  usage: LlmUsage;
  /** From the start of the call (first attempt) to the first visible content delta. */
  firstTokenMs: number | null;
  durationMs: number;
  attempts: number;
  finishReason: string | null;
};

export type LlmFailureKind =
  | 'not_configured'
  | 'timeout_first_token'
  | 'timeout_total'
  | 'rate_limited'
  | 'upstream'
  | 'connection'
  | 'bad_request'
  | 'empty_output'
  | 'aborted';

/** A failed LLM call; `producedOutput` tells whether any token came back (quota release). */
export class LlmError extends AppError {
  override name = 'LlmError';
  constructor(
    readonly kind: LlmFailureKind,
    message: string,
    readonly details: {
      attempts: number;
      producedOutput: boolean;
      status?: number;
      usage?: LlmUsage;
      cause?: unknown;
    },
  ) {
    super(
      kind === 'timeout_first_token' || kind === 'timeout_total'
        ? 'UPSTREAM_TIMEOUT'
        : kind === 'not_configured'
          ? 'SERVICE_UNAVAILABLE'
          : 'UPSTREAM_FAILED',
      message,
      { retryable: false, cause: details.cause },
    );
  }
}

/** One chat completion, always streamed; expected failures are values, never throws. */
export interface LlmClient {
  complete(request: LlmRequest): Promise<Result<LlmCompletion, LlmError>>;
  /** Whether a key is configured (without one every call fails with `not_configured`). */
  readonly configured: boolean;
}
