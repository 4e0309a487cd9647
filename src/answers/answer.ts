// answerMessage: one visitor message in, one grounded reply (or a handoff) out, with provenance.
//
// The stages run in order, each returning its part of the provenance: plan (history, query
// plan) → rewrite (src/answers/condense.ts) → retrieve (retrieve.ts) → generate (generate.ts) →
// cite (citations.ts) → record (record.ts: the bot message, the log line, the counters).
import type { Database } from 'bun:sqlite';
import type { Chatbot } from '../chatbots/model.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { HandoffReason, HistoryTurn } from '../conversations/model.ts';
import { findConversation, recentHistory } from '../conversations/service.ts';
import type { Metrics } from '../http/metrics.ts';
import type { LlmClient } from '../llm/types.ts';
import type { Logger } from '../logging.ts';
import type { QuotaHook } from '../quotas/service.ts';
import { citeStage } from './citations.ts';
import { needsRewrite, planQuery, type QueryPlan, rewriteStage, unchanged } from './condense.ts';
import { generateStage } from './generate.ts';
import { asksForHuman } from './human-request.ts';
import type { AnswerUsage, Provenance } from './model.ts';
import { HISTORY_MESSAGES_MAX, HISTORY_TOKENS_MAX } from './prompt.ts';
import {
  type Ending,
  provenanceOf,
  recordAnswer,
  type StageParts,
  type TurnFacts,
} from './record.ts';
import { type Retrieve, retrieveStage, type SearchHit, toSearchHit } from './retrieve.ts';

export type AnswerDeps = {
  db: Database;
  config: Config;
  /** Stamps the messages this turn stores. */
  clock: Clock;
  log: Logger;
  llm: LlmClient;
  retrieve: Retrieve;
  /** Counters for /metrics (turn outcomes, tokens, estimated cost); optional in tests. */
  metrics?: Metrics;
};

export type AnswerInput = {
  chatbot: Chatbot;
  /** The internal conversation id (`getOrCreateConversation(...).id`). */
  conversationId: string;
  /**
   * The visitor's message, already stored by the caller (`addVisitorMessage`): the history read
   * for the prompt leaves it out.
   */
  visitorMessageId: string;
  /** The visitor's message as the LLM gets it. */
  message: string;
  /** Aborts retrieval waits and the LLM request (an operator took over). */
  signal?: AbortSignal;
  /** Clean visible text as it streams (never control lines or citation markers). */
  onToken?: (text: string) => void;
  /**
   * The turn's quota (`quotaHook`): reserved once, right before the first LLM request (false →
   * quota handoff, no call); released when the reservation was made but no LLM request produced
   * any output and the turn failed or was aborted. Absent: nothing is counted.
   */
  quota?: Pick<QuotaHook, 'reserve' | 'release'>;
};

export type AnswerResult = {
  /** What the visitor should see; empty only when `aborted`. */
  reply: string;
  handoff: boolean;
  reason: HandoffReason | null;
  /** The signal fired: post nothing; no bot message was stored. */
  aborted: boolean;
  sources: SearchHit[];
  citedChunkIds: string[];
  usage: AnswerUsage;
  llmCalled: boolean;
  botMessageId: string | null;
  provenance: Provenance;
};

/**
 * The visitor-facing text for a handoff reason: the chatbot's own configured message, in the
 * language it answers in (`language.reply`, or the visitor's when `auto`) when a translation of
 * that text is configured.
 */
export function handoffText(
  chatbot: Chatbot,
  reason: HandoffReason,
  visitorLanguage: string | null = null,
): string {
  const field =
    reason === 'error' ? 'fallbackMessage' : reason === 'quota' ? 'quotaMessage' : 'message';
  const language = chatbot.language.reply === 'auto' ? visitorLanguage : chatbot.language.reply;
  const translations = chatbot.handoff.translations;
  const translated = language
    ? (translations[language] ?? translations[language.split('-')[0] ?? ''])?.[field]
    : undefined;
  return translated ?? chatbot.handoff[field];
}

/**
 * Answers one visitor message: plan → (rewrite) → retrieve → generate → cite → record. Never
 * throws for expected failures: every failure becomes `handoff: true, reason: 'error'` with the
 * chatbot's fallback text.
 */
export async function answerMessage(deps: AnswerDeps, input: AnswerInput): Promise<AnswerResult> {
  const startedAt = performance.now();
  const turn = plan(deps, input, startedAt);
  const quota = reserveOnce(input.quota);
  const { ending, parts } = await runStages(deps, input, turn, quota.reserve);
  let reply = '';
  if (ending.kind === 'reply') reply = ending.reply;
  if (ending.kind === 'handoff') {
    reply = handoffText(input.chatbot, ending.reason, turn.visitorLanguage);
    // A stream that already showed text gets the handoff text after a blank line.
    input.onToken?.(parts.generate?.streamed ? `\n\n${reply}` : reply);
  }
  const failed =
    ending.kind === 'aborted' || (ending.kind === 'handoff' && ending.reason === 'error');
  const producedOutput = !!(parts.rewrite?.producedOutput || parts.generate?.producedOutput);
  if (quota.held && failed && !producedOutput) await input.quota?.release();
  const provenance = provenanceOf(turn, ending, parts);
  const botMessageId = recordAnswer(deps, turn, reply, ending, provenance);
  return {
    reply,
    handoff: provenance.handoff,
    reason: provenance.handoffReason,
    aborted: ending.kind === 'aborted',
    sources: (parts.retrieve?.hits ?? []).map(toSearchHit),
    citedChunkIds: provenance.citedChunkIds,
    usage: provenance.usage,
    llmCalled: provenance.usage.llmCalls > 0,
    botMessageId,
    provenance,
  };
}

type PlannedTurn = TurnFacts & { history: HistoryTurn[]; queryPlan: QueryPlan };

/** The plan stage: the conversation, its recent history, the model, and the query plan. */
function plan(deps: AnswerDeps, input: AnswerInput, startedAt: number): PlannedTurn {
  const conversation = findConversation(deps.db, input.conversationId);
  if (!conversation || conversation.chatbotId !== input.chatbot.id) {
    // A programmer error (wrong id passed in), not an outside failure.
    throw new Error('answerMessage: unknown conversation for this chatbot');
  }
  const history = recentHistory(deps.db, conversation.id, {
    tokensMax: HISTORY_TOKENS_MAX,
    messagesMax: HISTORY_MESSAGES_MAX,
    excludeMessageId: input.visitorMessageId,
  });
  const queryPlan = planQuery(input.message, history, input.chatbot.language.knowledge);
  return {
    conversation,
    message: input.message,
    model: input.chatbot.model ?? deps.config.GROQ_MODEL,
    visitorLanguage: queryPlan.visitorLanguage,
    startedAt,
    history,
    queryPlan,
  };
}

/** Reserves through the quota hook once per turn, whichever LLM request comes first. */
function reserveOnce(quota: AnswerInput['quota']) {
  let held = false;
  return {
    reserve: async () => {
      if (!held) held = !quota || (await quota.reserve());
      return held;
    },
    get held() {
      return held;
    },
  };
}

const ABORTED: Ending = { kind: 'aborted' };
const QUOTA: Ending = { kind: 'handoff', reason: 'quota' };
const failure = (error: string): Ending => ({ kind: 'handoff', reason: 'error', error });

/** The stages after the plan, in order; each one that runs adds its part. */
async function runStages(
  deps: AnswerDeps,
  input: AnswerInput,
  turn: PlannedTurn,
  reserve: () => Promise<boolean>,
): Promise<{ ending: Ending; parts: StageParts }> {
  const { chatbot, message, signal } = input;
  const parts: StageParts = {};
  const end = (ending: Ending) => ({ ending, parts });
  if (signal?.aborted) return end(ABORTED);
  // An explicit "talk to a human" needs no model: hand off at once (no LLM call, no quota).
  if (asksForHuman(message)) return end({ kind: 'handoff', reason: 'asked_for_human' });
  if (!deps.llm.configured) return end(failure('GROQ_API_KEY is not set'));

  if (needsRewrite(turn.queryPlan)) {
    if (!(await reserve())) return end(QUOTA);
    parts.rewrite = await rewriteStage(deps.llm, {
      model: turn.model,
      message,
      history: turn.history,
      plan: turn.queryPlan,
      signal,
      firstTokenTimeoutMs: deps.config.LLM_FIRST_TOKEN_TIMEOUT_MS,
      totalTimeoutMs: deps.config.LLM_TOTAL_TIMEOUT_MS,
    });
    if (signal?.aborted) return end(ABORTED);
  }
  const queries = parts.rewrite ?? unchanged(message);

  parts.retrieve = await retrieveStage(
    deps.retrieve,
    deps.log,
    { chatbotId: chatbot.id, query: queries.standaloneQuery, lexicalQuery: queries.lexicalQuery },
    signal,
  );
  if (signal?.aborted) return end(ABORTED);
  if (parts.retrieve.failed) return end(failure('retrieval_failed'));

  if (!(await reserve())) return end(QUOTA);
  const generated = await generateStage(deps.llm, {
    chatbot,
    model: turn.model,
    passages: parts.retrieve.hits,
    history: turn.history,
    message,
    signal,
    onToken: input.onToken,
    startedAt: turn.startedAt,
    condenseMs: parts.rewrite?.condenseMs ?? 0,
  });
  parts.generate = generated;
  if (generated.aborted) return end(ABORTED);
  // The model decided before anything else went wrong: its decision stands.
  if (generated.decision?.kind === 'handoff')
    return end({ kind: 'handoff', reason: generated.decision.reason });
  if (generated.error) return end(failure(generated.error));
  if (!generated.text.trim()) return end(failure('empty_reply'));
  if (generated.decision?.header === 'missing') {
    deps.log.warn(
      { chatbotId: chatbot.id, model: turn.model },
      'model answered without the control line',
    );
  }

  parts.cite = citeStage(chatbot.citations, generated.cited, parts.retrieve.hits);
  if (parts.cite.suffix) input.onToken?.(parts.cite.suffix);
  return end({ kind: 'reply', reply: generated.text + parts.cite.suffix });
}
