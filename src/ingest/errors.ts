// Why a document could not be loaded, in words safe to store on the source and show to the admin.

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
