// Playground chat schemas: request, JSON response, and the SSE event payloads.
import * as v from 'valibot';
import { SearchHit } from '../knowledge/model.ts';

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

export const ChatReason = v.nullable(
  v.picklist(['no_answer', 'asked_for_human', 'frustration', 'error', 'quota']),
);

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
