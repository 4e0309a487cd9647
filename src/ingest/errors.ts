// Why an ingestion failed, in words safe to store on the source and show to the admin.
import { AppError } from '../errors.ts';
import { FetchError } from './safe-fetch.ts';

/**
 * A document that cannot become knowledge; `message` is safe to show on the source or in a 415.
 * `LIMIT`: it is past a bound (pages, depth, text, time or memory; README "Limits").
 */
export class ExtractError extends Error {
  override name = 'ExtractError';
  constructor(
    readonly kind: 'UNSUPPORTED' | 'CORRUPT' | 'EMPTY' | 'LIMIT',
    message: string,
  ) {
    super(message);
  }
}

/** A source-level failure with a reason for the admin (no secrets, no raw input echoed). */
export class IngestError extends Error {
  override name = 'IngestError';
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

/** Maps any error to the reason stored on the source and whether a retry may help. */
export function failureReason(e: unknown): { message: string; transient: boolean; known: boolean } {
  if (e instanceof FetchError) return { message: e.message, transient: e.transient, known: true };
  // The knowledge service's own failures (embedding, index) carry a safe message.
  if (e instanceof AppError) return { message: e.message, transient: e.retryable, known: true };
  if (e instanceof ExtractError || e instanceof IngestError) {
    return { message: e.message, transient: e instanceof IngestError && e.transient, known: true };
  }
  return {
    message: 'internal error while indexing (see the service log)',
    transient: true,
    known: false,
  };
}
