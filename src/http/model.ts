// Schemas shared by every route: the error envelope.
import * as v from 'valibot';
import { LLM_STATUSES } from '../llm/probe.ts';
import { ModelPullStatus } from '../models/model.ts';

export const ErrorResponse = v.object({
  error: v.object({ code: v.string(), message: v.string(), requestId: v.string() }),
});

export const HealthResponse = v.object({ status: v.literal('ok') });

const Check = v.object({ name: v.string(), ok: v.boolean(), detail: v.optional(v.string()) });

/** /readyz: `ready` with 200 when every check passes, else `not_ready` with 503. */
export const ReadinessResponse = v.object({
  status: v.picklist(['ready', 'not_ready']),
  checks: v.array(Check),
  /** The LLM endpoint's last check (src/llm/probe.ts); any status keeps /readyz 200. */
  llm: v.picklist(LLM_STATUSES),
  /** Why, when the status is not `ok` (never the key). */
  llmReason: v.nullable(v.string()),
  llmCheckedAt: v.nullable(v.string()),
  embedding: v.picklist(['none', 'local', 'openai']),
  /** `hybrid` when search uses vectors and full text, `fulltext` otherwise (no model yet, a re-embed due). */
  retrieval: v.picklist(['fulltext', 'hybrid']),
  /** The embedding model pulled at start (state `off` with the reason when it does not run). */
  modelPull: ModelPullStatus,
  warnings: v.array(v.string()),
});
