// The record step of an answer: the provenance from every stage's part, the bot message stored
// with it, and the turn's one log line and counters.
import type { Database } from 'bun:sqlite';
import type { Clock } from '../clock.ts';
import type { Conversation, HandoffReason } from '../conversations/model.ts';
import { appendMessage } from '../conversations/service.ts';
import type { Metrics } from '../http/metrics.ts';
import type { LlmUsage } from '../llm/types.ts';
import type { Logger } from '../logging.ts';
import type { CitePart } from './citations.ts';
import { type RewritePart, unchanged } from './condense.ts';
import type { GeneratePart } from './generate.ts';
import type { AnswerUsage, Provenance } from './model.ts';
import type { RetrievePart } from './retrieve.ts';

export type RecordDeps = { db: Database; clock: Clock; log: Logger; metrics?: Metrics };

/** How the stages ended: a reply, a handoff (with why, and the failure if one caused it), or the abort. */
export type Ending =
  | { kind: 'reply'; reply: string }
  | { kind: 'handoff'; reason: HandoffReason; error?: string }
  | { kind: 'aborted' };

/** The parts the stages that ran gave (a stage that did not run gave none). */
export type StageParts = {
  rewrite?: RewritePart;
  retrieve?: RetrievePart;
  generate?: GeneratePart;
  cite?: CitePart;
};

/** What the turn was about, fixed before the first stage ran. */
export type TurnFacts = {
  conversation: Conversation;
  message: string;
  /** The model the chatbot asks for (the completion may name another). */
  model: string;
  visitorLanguage: string | null;
  startedAt: number;
};

const round = (ms: number) => Math.round(ms * 10) / 10;
const roundOrNull = (ms: number | null | undefined) => (ms == null ? null : round(ms));

/** Token counts and cost of the calls the stages made. */
export function usageOf(parts: StageParts): AnswerUsage {
  const calls = [parts.rewrite, parts.generate].filter((p) => p !== undefined);
  const total: AnswerUsage = {
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    costUsd: 0,
    llmCalls: calls.length,
  };
  for (const usage of calls.map((c) => c.usage).filter((u): u is LlmUsage => u !== undefined)) {
    total.promptTokens += usage.promptTokens;
    total.completionTokens += usage.completionTokens;
    total.totalTokens += usage.totalTokens;
    total.costUsd = Math.round((total.costUsd + usage.costUsd) * 1e8) / 1e8;
  }
  return total;
}

export function provenanceOf(turn: TurnFacts, ending: Ending, parts: StageParts): Provenance {
  const { rewrite, retrieve, generate } = parts;
  const reason = ending.kind === 'handoff' ? ending.reason : null;
  const queries = rewrite ?? { ...unchanged(turn.message), rewriteFallback: null };
  return {
    standaloneQuery: queries.standaloneQuery,
    lexicalQuery: queries.lexicalQuery,
    condensed: queries.condensed,
    translatedTo: queries.translatedTo,
    visitorLanguage: turn.visitorLanguage,
    rewriteFallback: queries.rewriteFallback,
    retrieval: retrieve?.retrieval ?? [],
    citedChunkIds: ending.kind === 'reply' ? (parts.cite?.citedChunkIds ?? []) : [],
    model: generate?.model ?? turn.model,
    usage: usageOf(parts),
    latency: {
      condenseMs: roundOrNull(rewrite?.condenseMs),
      retrieveMs: roundOrNull(retrieve?.retrieveMs),
      overheadMs: roundOrNull(generate?.overheadMs),
      firstTokenMs: roundOrNull(generate?.firstTokenMs),
      llmMs: roundOrNull(generate?.llmMs),
      totalMs: round(performance.now() - turn.startedAt),
    },
    handoff: reason !== null,
    handoffReason: reason,
    protocol: generate?.protocol ?? null,
    error:
      ending.kind === 'aborted'
        ? 'aborted'
        : ending.kind === 'handoff'
          ? (ending.error ?? null)
          : null,
  };
}

/**
 * The record step: stores the bot message (`reply`, with its provenance) unless the turn was
 * aborted, then logs the turn and counts it. Returns the stored message's id (null when aborted).
 */
export function recordAnswer(
  deps: RecordDeps,
  turn: TurnFacts,
  reply: string,
  ending: Ending,
  provenance: Provenance,
): string | null {
  const aborted = ending.kind === 'aborted';
  const reason = provenance.handoffReason;
  const botMessageId = aborted
    ? null
    : appendMessage(
        deps.db,
        turn.conversation.id,
        { role: 'bot', content: reply, handoffReason: reason, provenance },
        new Date(deps.clock.now()),
      ).id;
  const { usage } = provenance;
  const line = {
    chatbotId: turn.conversation.chatbotId,
    conversationId: turn.conversation.id,
    channel: turn.conversation.channel,
    model: turn.model,
    hits: provenance.retrieval.length,
    topScore: provenance.retrieval[0]?.fused ?? null,
    // Ids and numbers only: the visitor's text and queries stay out of the log (privacy);
    // they are in the stored provenance.
    chunkIds: provenance.retrieval.map((r) => r.chunkId),
    citedChunkIds: provenance.citedChunkIds,
    condensed: provenance.condensed,
    translatedTo: provenance.translatedTo,
    rewriteFallback: provenance.rewriteFallback,
    ...provenance.latency,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    costUsd: usage.costUsd,
    llmCalls: usage.llmCalls,
    handoff: provenance.handoff,
    handoffReason: reason,
    protocol: provenance.protocol,
    error: provenance.error,
    aborted,
  };
  const metrics = deps.metrics;
  if (metrics) {
    metrics.inc('answerdesk_answer_turns_total', 'Answer turns by outcome', {
      outcome: aborted ? 'aborted' : (reason ?? 'answered'),
    });
    const tokens = 'LLM tokens used by answer turns';
    metrics.inc('answerdesk_llm_tokens_total', tokens, { kind: 'prompt' }, usage.promptTokens);
    metrics.inc(
      'answerdesk_llm_tokens_total',
      tokens,
      { kind: 'completion' },
      usage.completionTokens,
    );
    metrics.inc('answerdesk_llm_cost_usd_total', 'Estimated LLM cost (USD)', {}, usage.costUsd);
  }
  if (reason === 'error') deps.log.warn(line, 'answer turn');
  else deps.log.info(line, 'answer turn');
  return botMessageId;
}
