// answerMessage: one visitor message in, one grounded reply (or a handoff) out, with provenance.
import type { Database } from 'bun:sqlite';
import type * as v from 'valibot';
import type { Chatbot } from '../chatbots/model.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { HandoffReason } from '../conversations/model.ts';
import {
  appendMessage,
  findConversation,
  type HistoryTurn,
  recentHistory,
} from '../conversations/service.ts';
import type { Metrics } from '../http/metrics.ts';
import type { SearchHit as SearchHitSchema } from '../knowledge/model.ts';
import type { LlmClient, LlmCompletion, LlmUsage } from '../llm/types.ts';
import type { Logger } from '../logging.ts';
import { citationSuffix, citedPassages } from './citations.ts';
import { needsRewrite, planQuery, rewriteQuery } from './condense.ts';
import { asksForHuman } from './human-request.ts';
import {
  ANSWER_COMPLETION_TOKENS_MAX,
  buildAnswerMessages,
  HISTORY_MESSAGES_MAX,
  HISTORY_TOKENS_MAX,
  PASSAGES_MAX,
} from './prompt.ts';
import { createReplyFilter, type Decision } from './protocol.ts';

/** A search hit as the playground shows it (docs/notes/contract.md, Shapes). */
export type SearchHit = Omit<v.InferOutput<typeof SearchHitSchema>, 'explain'>;

type LegScore = { rank: number; score: number } | null;

/** A hit from retrieval, with the per-leg ranks and scores when the index explains them. */
export type RetrievedHit = SearchHit & { explain?: { fts: LegScore; vector: LegScore } };

/** The retrieval port (src/knowledge/search.ts searchKnowledge with `explain: true`). */
export type Retrieve = (
  query: { chatbotId: string; query: string; lexicalQuery: string; limit: number },
  signal?: AbortSignal,
) => Promise<RetrievedHit[]>;

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
  /** The visitor's message. */
  message: string;
  /** Set when the caller already stored the visitor message; otherwise it is appended here. */
  visitorMessageId?: string;
  /** Stored on the visitor message when this function appends it. */
  fingerprint?: string | number | null;
  /** Aborts retrieval waits and the LLM request (an operator took over). */
  signal?: AbortSignal;
  /** Clean visible text as it streams (never control lines or citation markers). */
  onToken?: (text: string) => void;
  /** Called once, right before the turn's first LLM request; false → quota handoff, no call. */
  reserveQuota?: () => boolean | Promise<boolean>;
  /** Called at most once: the reservation was made but no LLM request produced any output. */
  releaseQuota?: () => void | Promise<void>;
};

export type AnswerUsage = {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUsd: number;
  llmCalls: number;
};

export type Provenance = {
  standaloneQuery: string;
  lexicalQuery: string;
  condensed: boolean;
  translatedTo: string | null;
  visitorLanguage: string | null;
  rewriteFallback: string | null;
  retrieval: {
    chunkId: string;
    sourceId: string;
    fused: number;
    fts: LegScore;
    vector: LegScore;
  }[];
  citedChunkIds: string[];
  model: string;
  usage: AnswerUsage;
  latency: {
    condenseMs: number | null;
    retrieveMs: number | null;
    /** Our own time before the answer request left: total minus the rewrite call. */
    overheadMs: number | null;
    firstTokenMs: number | null;
    llmMs: number | null;
    totalMs: number;
  };
  handoff: boolean;
  handoffReason: HandoffReason | null;
  /** How the model's control line looked (`missing` = it wrote none, treated as an answer). */
  protocol: 'ok' | 'missing' | 'unknown' | null;
  error: string | null;
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
  visitorMessageId: string;
  botMessageId: string | null;
  provenance: Provenance;
};

const round = (ms: number) => Math.round(ms * 10) / 10;

const emptyUsage = (): AnswerUsage => ({
  promptTokens: 0,
  completionTokens: 0,
  totalTokens: 0,
  costUsd: 0,
  llmCalls: 0,
});

function addUsage(total: AnswerUsage, usage: LlmUsage | undefined): void {
  if (!usage) return;
  total.promptTokens += usage.promptTokens;
  total.completionTokens += usage.completionTokens;
  total.totalTokens += usage.totalTokens;
  total.costUsd = Math.round((total.costUsd + usage.costUsd) * 1e8) / 1e8;
}

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
 * Answers one visitor message: history → (rewrite) → retrieve → prompt → streamed LLM answer →
 * validate → store the bot message with provenance. Never throws for expected failures: every
 * failure becomes `handoff: true, reason: 'error'` with the chatbot's fallback text.
 */
export async function answerMessage(deps: AnswerDeps, input: AnswerInput): Promise<AnswerResult> {
  const startedAt = performance.now();
  const { chatbot, signal } = input;
  const conversation = findConversation(deps.db, input.conversationId);
  if (!conversation || conversation.chatbotId !== chatbot.id) {
    // A programmer error (wrong id passed in), not an outside failure.
    throw new Error('answerMessage: unknown conversation for this chatbot');
  }
  const visitorMessageId =
    input.visitorMessageId ??
    appendMessage(
      deps.db,
      conversation.id,
      { role: 'visitor', content: input.message, fingerprint: input.fingerprint ?? null },
      new Date(deps.clock.now()),
    ).id;
  const history: HistoryTurn[] = recentHistory(deps.db, conversation.id, {
    tokensMax: HISTORY_TOKENS_MAX,
    messagesMax: HISTORY_MESSAGES_MAX,
    excludeMessageId: visitorMessageId,
  });
  const model = chatbot.model ?? deps.config.GROQ_MODEL;
  const usage = emptyUsage();
  const plan = planQuery(input.message, history, chatbot.language.knowledge);
  const provenance: Provenance = {
    standaloneQuery: input.message,
    lexicalQuery: input.message,
    condensed: false,
    translatedTo: null,
    visitorLanguage: plan.visitorLanguage,
    rewriteFallback: null,
    retrieval: [],
    citedChunkIds: [],
    model,
    usage,
    latency: {
      condenseMs: null,
      retrieveMs: null,
      overheadMs: null,
      firstTokenMs: null,
      llmMs: null,
      totalMs: 0,
    },
    handoff: false,
    handoffReason: null,
    protocol: null,
    error: null,
  };
  let sources: SearchHit[] = [];
  let reserved = false;
  let llmCalled = false;
  let producedOutput = false;
  let streamedAny = false;
  const onToken = (text: string) => {
    streamedAny = true;
    input.onToken?.(text);
  };

  /** Reserves quota once, before the first LLM request; false = quota exhausted. */
  const reserve = async (): Promise<boolean> => {
    if (reserved) return true;
    if (input.reserveQuota && !(await input.reserveQuota())) return false;
    reserved = true;
    return true;
  };

  const finish = async (
    outcome:
      | { kind: 'reply'; reply: string; cited: string[] }
      | { kind: 'handoff'; reason: HandoffReason; error?: string }
      | { kind: 'aborted' },
  ): Promise<AnswerResult> => {
    const aborted = outcome.kind === 'aborted';
    const reason = outcome.kind === 'handoff' ? outcome.reason : null;
    let reply = '';
    if (outcome.kind === 'reply') reply = outcome.reply;
    if (outcome.kind === 'handoff') {
      reply = handoffText(chatbot, outcome.reason, provenance.visitorLanguage);
      // A stream that already showed text gets the handoff text after a blank line.
      onToken(streamedAny ? `\n\n${reply}` : reply);
      provenance.error = outcome.error ?? null;
    }
    if (aborted) provenance.error = 'aborted';
    if (reserved && !producedOutput && (aborted || reason === 'error')) {
      await input.releaseQuota?.();
    }
    provenance.handoff = reason !== null;
    provenance.handoffReason = reason;
    provenance.citedChunkIds = outcome.kind === 'reply' ? outcome.cited : [];
    provenance.latency.totalMs = round(performance.now() - startedAt);
    const botMessageId = aborted
      ? null
      : appendMessage(
          deps.db,
          conversation.id,
          {
            role: 'bot',
            content: reply,
            handoffReason: reason,
            provenance: provenance as unknown as Record<string, unknown>,
          },
          new Date(deps.clock.now()),
        ).id;
    const log = {
      chatbotId: chatbot.id,
      conversationId: conversation.id,
      channel: conversation.channel,
      model,
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
    if (reason === 'error') deps.log.warn(log, 'answer turn');
    else deps.log.info(log, 'answer turn');
    return {
      reply,
      handoff: reason !== null,
      reason,
      aborted,
      sources,
      citedChunkIds: provenance.citedChunkIds,
      usage,
      llmCalled,
      visitorMessageId,
      botMessageId,
      provenance,
    };
  };

  if (signal?.aborted) return finish({ kind: 'aborted' });
  // An explicit "talk to a human" needs no model: hand off at once (no LLM call, no quota).
  if (asksForHuman(input.message)) return finish({ kind: 'handoff', reason: 'asked_for_human' });
  if (!deps.llm.configured) {
    return finish({ kind: 'handoff', reason: 'error', error: 'GROQ_API_KEY is not set' });
  }

  // 1. Rewrite the query (follow-up and/or translation) — one small call, skipped when not needed.
  let query = input.message;
  let lexicalQuery = input.message;
  if (needsRewrite(plan)) {
    if (!(await reserve())) return finish({ kind: 'handoff', reason: 'quota' });
    const rewriteStartedAt = performance.now();
    llmCalled = true;
    usage.llmCalls++;
    const rewrite = await rewriteQuery(deps.llm, {
      model,
      message: input.message,
      history,
      plan,
      signal,
      firstTokenTimeoutMs: deps.config.LLM_FIRST_TOKEN_TIMEOUT_MS,
      totalTimeoutMs: deps.config.LLM_TOTAL_TIMEOUT_MS,
    });
    provenance.latency.condenseMs = round(performance.now() - rewriteStartedAt);
    if (rewrite.producedOutput) producedOutput = true;
    addUsage(usage, rewrite.completion?.usage);
    if (signal?.aborted) return finish({ kind: 'aborted' });
    query = rewrite.query;
    lexicalQuery = rewrite.lexicalQuery;
    provenance.condensed = plan.condense && rewrite.fallback === null;
    provenance.translatedTo = rewrite.fallback === null ? plan.translateTo : null;
    provenance.rewriteFallback = rewrite.fallback;
  }
  provenance.standaloneQuery = query;
  provenance.lexicalQuery = lexicalQuery;

  // 2. Retrieve.
  const retrieveStartedAt = performance.now();
  let hits: RetrievedHit[];
  try {
    hits = await deps.retrieve(
      { chatbotId: chatbot.id, query, lexicalQuery, limit: PASSAGES_MAX },
      signal,
    );
  } catch (cause) {
    provenance.latency.retrieveMs = round(performance.now() - retrieveStartedAt);
    if (signal?.aborted) return finish({ kind: 'aborted' });
    deps.log.error({ err: cause, chatbotId: chatbot.id }, 'retrieval failed');
    return finish({ kind: 'handoff', reason: 'error', error: 'retrieval_failed' });
  }
  provenance.latency.retrieveMs = round(performance.now() - retrieveStartedAt);
  sources = hits.map(({ sourceId, chunkId, title, url, text, score }) => ({
    sourceId,
    chunkId,
    title,
    url,
    text,
    score,
  }));
  provenance.retrieval = hits.map((h) => ({
    chunkId: h.chunkId,
    sourceId: h.sourceId,
    fused: h.score,
    fts: h.explain?.fts ?? null,
    vector: h.explain?.vector ?? null,
  }));
  if (signal?.aborted) return finish({ kind: 'aborted' });

  // 3. Prompt and the streamed answer.
  if (!(await reserve())) return finish({ kind: 'handoff', reason: 'quota' });
  const messages = buildAnswerMessages({
    chatbot,
    passages: hits,
    history,
    message: input.message,
  });
  let decision: Decision | null = null;
  const filter = createReplyFilter({
    onDecision: (d) => {
      decision = d;
    },
    onText: (text) => {
      if (decision?.kind === 'answer') onToken(text);
    },
  });
  provenance.latency.overheadMs = round(
    performance.now() - startedAt - (provenance.latency.condenseMs ?? 0),
  );
  llmCalled = true;
  usage.llmCalls++;
  const llmStartedAt = performance.now();
  const result = await deps.llm.complete({
    model,
    purpose: 'answer',
    messages,
    maxCompletionTokens: ANSWER_COMPLETION_TOKENS_MAX,
    signal,
    onDelta: (delta) => filter.push(delta),
  });
  provenance.latency.llmMs = round(performance.now() - llmStartedAt);
  const completion: LlmCompletion | null = result.ok ? result.value : null;
  if (result.ok) {
    producedOutput = true;
    addUsage(usage, result.value.usage);
    provenance.model = result.value.model;
    provenance.latency.firstTokenMs =
      result.value.firstTokenMs === null ? null : round(result.value.firstTokenMs);
  } else {
    if (result.error.details.producedOutput) producedOutput = true;
    addUsage(usage, result.error.details.usage);
  }
  if (signal?.aborted) return finish({ kind: 'aborted' });
  filter.end();
  const decided = filter.decision;
  provenance.protocol = decided?.kind === 'answer' ? decided.header : decided ? 'ok' : null;
  if (decided?.kind === 'handoff') {
    // The model decided before anything else went wrong: its decision stands.
    return finish({ kind: 'handoff', reason: decided.reason });
  }
  if (!completion) {
    const error = result.ok ? 'unknown' : result.error.kind;
    return finish({ kind: 'handoff', reason: 'error', error });
  }
  const text = filter.text;
  if (!text.trim()) {
    return finish({ kind: 'handoff', reason: 'error', error: 'empty_reply' });
  }
  if (decided?.header === 'missing') {
    deps.log.warn({ chatbotId: chatbot.id, model }, 'model answered without the control line');
  }
  const cited = citedPassages(filter.cited, hits);
  const suffix = citationSuffix(chatbot.citations, cited);
  if (suffix) onToken(suffix);
  return finish({ kind: 'reply', reply: text + suffix, cited: cited.map((c) => c.chunkId) });
}
