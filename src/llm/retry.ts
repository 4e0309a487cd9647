// Retry policy for LLM calls: which failures retry, and how long to wait (always capped).

/** Retries after the first attempt (the contract: at most twice). */
export const LLM_RETRIES_MAX = 2;
/** Exponential backoff base and ceiling when the server gives no `retry-after`. */
export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 2_000;
/** The longest `retry-after` we honour; a longer one fails the call at once rather than wait. */
export const RETRY_AFTER_MAX_MS = 5_000;

/** Parses `retry-after-ms` / `retry-after` (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The wait before retry number `retry` (1-based), or null when we must not retry: the server
 * asked for longer than RETRY_AFTER_MAX_MS, or the wait would not leave time before the deadline.
 */
export function retryDelayMs(
  retry: number,
  serverDelayMs: number | null,
  remainingMs: number,
  random: () => number = Math.random,
): number | null {
  let delay: number;
  if (serverDelayMs !== null) {
    if (serverDelayMs > RETRY_AFTER_MAX_MS) return null;
    delay = serverDelayMs;
  } else {
    const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (retry - 1));
    // Full jitter on the upper half keeps concurrent callers from retrying in lockstep.
    delay = Math.round(exp / 2 + (random() * exp) / 2);
  }
  // Leave at least a moment for the retried request itself.
  return delay + 100 < remainingMs ? delay : null;
}

/** Sleeps `ms`, resolving false at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
