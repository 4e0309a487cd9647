// Query planning: when to rewrite a follow-up or translate it for full-text search, and the call.
import * as v from 'valibot';
import type { HistoryTurn } from '../conversations/service.ts';
import type { LlmClient, LlmCompletion } from '../llm/types.ts';
import { detectLanguage, sameLanguage } from './language.ts';
import { buildCondenseMessages, CONDENSE_COMPLETION_TOKENS_MAX } from './prompt.ts';

/** The rewrite is a small call: it gets tighter timeouts than the answer. */
export const CONDENSE_FIRST_TOKEN_TIMEOUT_MS = 4_000;
export const CONDENSE_TOTAL_TIMEOUT_MS = 8_000;

export type QueryPlan = {
  /** There is history: a follow-up may need rewriting into a standalone question. */
  condense: boolean;
  /** The knowledge base's language when the visitor writes in another one, else null. */
  translateTo: string | null;
  /** Our guess at the visitor's language (null when unsure). */
  visitorLanguage: string | null;
};

/** Decides which of the two jobs the rewrite call has; neither → no call (first message). */
export function planQuery(
  message: string,
  history: readonly HistoryTurn[],
  knowledgeLanguage: string | null,
): QueryPlan {
  const visitorLanguage = detectLanguage(message);
  const translateTo =
    knowledgeLanguage && visitorLanguage && !sameLanguage(visitorLanguage, knowledgeLanguage)
      ? knowledgeLanguage
      : null;
  return { condense: history.length > 0, translateTo, visitorLanguage };
}

export const needsRewrite = (plan: QueryPlan) => plan.condense || plan.translateTo !== null;

const RewriteOutput = v.object({
  query: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(1_000)),
  lexicalQuery: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(1_000))),
});

/** Reads `{"query","lexicalQuery"}` out of the model's text (tolerates fences and prose); null if invalid. */
export function parseRewrite(text: string): { query: string; lexicalQuery: string | null } | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    const parsed = v.safeParse(RewriteOutput, JSON.parse(text.slice(start, end + 1)));
    if (!parsed.success) return null;
    return { query: parsed.output.query, lexicalQuery: parsed.output.lexicalQuery || null };
  } catch {
    return null;
  }
}

export type Rewrite = {
  query: string;
  lexicalQuery: string;
  /** The call, when one was made (for usage and provenance). */
  completion: LlmCompletion | null;
  /** Why the raw message was used instead, if it was. */
  fallback: string | null;
  /** A call was made and returned tokens (quota accounting). */
  producedOutput: boolean;
};

/**
 * Runs the rewrite call for `plan`. Any failure falls back to the raw message for both legs: a
 * worse query beats no answer.
 */
export async function rewriteQuery(
  llm: LlmClient,
  input: {
    model: string;
    message: string;
    history: readonly HistoryTurn[];
    plan: QueryPlan;
    signal?: AbortSignal;
    /** The configured LLM timeouts: the rewrite never waits longer than the answer would. */
    firstTokenTimeoutMs: number;
    totalTimeoutMs: number;
  },
): Promise<Rewrite> {
  const result = await llm.complete({
    model: input.model,
    purpose: 'condense',
    messages: buildCondenseMessages({
      history: input.plan.condense ? input.history : [],
      message: input.message,
      knowledgeLanguage: input.plan.translateTo,
    }),
    maxCompletionTokens: CONDENSE_COMPLETION_TOKENS_MAX,
    temperature: 0,
    firstTokenTimeoutMs: Math.min(CONDENSE_FIRST_TOKEN_TIMEOUT_MS, input.firstTokenTimeoutMs),
    totalTimeoutMs: Math.min(CONDENSE_TOTAL_TIMEOUT_MS, input.totalTimeoutMs),
    signal: input.signal,
  });
  if (!result.ok) {
    return {
      query: input.message,
      lexicalQuery: input.message,
      completion: null,
      fallback: result.error.kind,
      producedOutput: result.error.details.producedOutput,
    };
  }
  const parsed = parseRewrite(result.value.text);
  if (!parsed) {
    return {
      query: input.message,
      lexicalQuery: input.message,
      completion: result.value,
      fallback: 'invalid_output',
      producedOutput: true,
    };
  }
  const query = input.plan.condense ? parsed.query : input.message;
  const lexicalQuery = input.plan.translateTo ? (parsed.lexicalQuery ?? parsed.query) : query;
  return { query, lexicalQuery, completion: result.value, fallback: null, producedOutput: true };
}
