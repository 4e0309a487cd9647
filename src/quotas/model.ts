// Usage schemas: what GET /api/v1/chatbots/:chatbotId/usage returns.
import * as v from 'valibot';

export const WindowUsage = v.object({
  /** The UTC period: `YYYY-MM-DD` for `day`, `YYYY-MM` for `month`. */
  period: v.string(),
  /** Visitor messages that reached the LLM in this period. */
  used: v.number(),
  /** The effective limit; null = unlimited. */
  limit: v.nullable(v.number()),
  /** `limit - used`, never below zero; null = unlimited. */
  remaining: v.nullable(v.number()),
});

/** One entry per quota window, keyed by the window's name. */
export const Usage = v.object({ day: WindowUsage, month: WindowUsage });
