// Answer schemas: the playground's request and response, and the provenance of a bot reply.
import * as v from 'valibot';
import { HandoffReason } from '../conversations/model.ts';
import { LegScore, SearchHit } from '../knowledge/model.ts';

/** The longest visitor message the LLM is given: the playground refuses longer ones (422). */
export const MESSAGE_CHARS_MAX = 8_000;

/**
 * A visitor message as the LLM may see it: cut to MESSAGE_CHARS_MAX (never through a surrogate
 * pair). Crisp visitors cannot be refused like playground callers, so their text is cut instead.
 */
export function capMessage(text: string): string {
  if (text.length <= MESSAGE_CHARS_MAX) return text;
  const cut = text.slice(0, MESSAGE_CHARS_MAX);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

export const ChatBody = v.strictObject({
  message: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(MESSAGE_CHARS_MAX)),
  /** Any 1–128 characters; a new one is generated when absent (and always returned). */
  conversationId: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(128))),
});
export type ChatBody = v.InferOutput<typeof ChatBody>;

export const ChatUsage = v.object({
  promptTokens: v.number(),
  completionTokens: v.number(),
  totalTokens: v.number(),
  costUsd: v.number(),
  llmCalls: v.number(),
});

export type AnswerUsage = v.InferOutput<typeof ChatUsage>;

export const ChatReason = v.nullable(HandoffReason);

export const ChatResponse = v.object({
  reply: v.string(),
  /** The passages retrieved for this message (search hits, best first). */
  sources: v.array(SearchHit),
  handoff: v.boolean(),
  reason: ChatReason,
  conversationId: v.string(),
  usage: ChatUsage,
});
export type ChatResponse = v.InferOutput<typeof ChatResponse>;

/**
 * How a bot reply was made, stored with the message (`messages.provenance`): each stage of
 * `answerMessage` gives its part (src/answers/answer.ts).
 */
export const Provenance = v.object({
  standaloneQuery: v.string(),
  lexicalQuery: v.string(),
  condensed: v.boolean(),
  translatedTo: v.nullable(v.string()),
  visitorLanguage: v.nullable(v.string()),
  rewriteFallback: v.nullable(v.string()),
  retrieval: v.array(
    v.object({
      chunkId: v.string(),
      sourceId: v.string(),
      fused: v.number(),
      fts: v.nullable(LegScore),
      vector: v.nullable(LegScore),
    }),
  ),
  citedChunkIds: v.array(v.string()),
  model: v.string(),
  usage: ChatUsage,
  latency: v.object({
    condenseMs: v.nullable(v.number()),
    retrieveMs: v.nullable(v.number()),
    /** Our own time before the answer request left: total minus the rewrite call. */
    overheadMs: v.nullable(v.number()),
    firstTokenMs: v.nullable(v.number()),
    llmMs: v.nullable(v.number()),
    totalMs: v.number(),
  }),
  handoff: v.boolean(),
  handoffReason: v.nullable(HandoffReason),
  /** How the model's control line looked (`missing` = it wrote none, treated as an answer). */
  protocol: v.nullable(v.picklist(['ok', 'missing', 'unknown'])),
  error: v.nullable(v.string()),
});
export type Provenance = v.InferOutput<typeof Provenance>;
