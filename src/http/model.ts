// Schemas shared by every route: the error envelope.
import * as v from 'valibot';

export const ErrorResponse = v.object({
  error: v.object({ code: v.string(), message: v.string(), requestId: v.string() }),
});

export const HealthResponse = v.object({ status: v.literal('ok') });

const Check = v.object({ name: v.string(), ok: v.boolean(), detail: v.optional(v.string()) });

/** /readyz: `ready` with 200 when every check passes, else `not_ready` with 503. */
export const ReadinessResponse = v.object({
  status: v.picklist(['ready', 'not_ready']),
  checks: v.array(Check),
  llm: v.picklist(['configured', 'missing_api_key']),
  embedding: v.picklist(['none', 'local', 'openai']),
  warnings: v.array(v.string()),
});
