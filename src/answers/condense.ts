// Query planning: when to rewrite a follow-up or translate it for full-text search, and the call.
import * as v from 'valibot';
import type { HistoryTurn } from '../conversations/model.ts';
import type { LlmClient, LlmUsage } from '../llm/types.ts';
import { detectLanguage, sameLanguage } from './language.ts';
import type { Provenance } from './model.ts';
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

/** The rewrite's part of the provenance, and what the call cost. */
export type RewritePart = Pick<
  Provenance,
  'standaloneQuery' | 'lexicalQuery' | 'condensed' | 'translatedTo' | 'rewriteFallback'
> & {
  condenseMs: number;
  /** The call's usage, when it answered. */
  usage: LlmUsage | undefined;
  /** The call returned tokens (quota accounting). */
  producedOutput: boolean;
};

/**
 * The rewrite stage: runs the rewrite call for `plan`. Any failure falls back to the raw message
 * for both legs (`rewriteFallback` says why): a worse query beats no answer.
 */
export async function rewriteStage(
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
): Promise<RewritePart> {
  const startedAt = performance.now();
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
  const spent = {
    condenseMs: performance.now() - startedAt,
    usage: result.ok ? result.value.usage : undefined,
    producedOutput: result.ok || result.error.details.producedOutput,
  };
  const parsed = result.ok ? parseRewrite(result.value.text) : null;
  if (!parsed) {
    const fallback = result.ok ? 'invalid_output' : result.error.kind;
    return { ...spent, ...unchanged(input.message), rewriteFallback: fallback };
  }
  const query = input.plan.condense ? parsed.query : input.message;
  return {
    ...spent,
    standaloneQuery: query,
    lexicalQuery: input.plan.translateTo ? (parsed.lexicalQuery ?? parsed.query) : query,
    condensed: input.plan.condense,
    translatedTo: input.plan.translateTo,
    rewriteFallback: null,
  };
}

/** The queries when the raw message is used for both legs. */
export const unchanged = (message: string) => ({
  standaloneQuery: message,
  lexicalQuery: message,
  condensed: false,
  translatedTo: null,
});
