// The generate stage: the prompt, the streamed LLM answer, and the model's decision read out of
// it by the reply filter (src/answers/protocol.ts), which keeps control lines and citation
// markers out of the visitor's stream.
import type { Chatbot } from '../chatbots/model.ts';
import type { HistoryTurn } from '../conversations/model.ts';
import type { LlmClient, LlmUsage } from '../llm/types.ts';
import type { Provenance } from './model.ts';
import { ANSWER_COMPLETION_TOKENS_MAX, buildAnswerMessages, type Passage } from './prompt.ts';
import { createReplyFilter, type Decision } from './protocol.ts';

/** The generate stage's part of the provenance, what the call cost, and what the model wrote. */
export type GeneratePart = Pick<Provenance, 'model' | 'protocol'> & {
  overheadMs: number;
  llmMs: number;
  firstTokenMs: number | null;
  usage: LlmUsage | undefined;
  /** The call returned tokens (quota accounting). */
  producedOutput: boolean;
  /** Visible text already went out on the stream. */
  streamed: boolean;
  /** The signal fired during the call: nothing more is read out of it. */
  aborted: boolean;
  decision: Decision | null;
  /** The clean visible reply (no control line, no citation markers). */
  text: string;
  /** Passage numbers the reply cited, in order of first use. */
  cited: number[];
  /** Why the call gave no completion (an LLM failure kind), else null. */
  error: string | null;
};

export async function generateStage(
  llm: LlmClient,
  input: {
    chatbot: Chatbot;
    model: string;
    passages: readonly Passage[];
    history: readonly HistoryTurn[];
    message: string;
    signal?: AbortSignal;
    /** Clean visible text as it streams. */
    onToken?: (text: string) => void;
    /** When the turn started, and the rewrite call's share of the time since (overhead). */
    startedAt: number;
    condenseMs: number;
  },
): Promise<GeneratePart> {
  const messages = buildAnswerMessages({
    chatbot: input.chatbot,
    passages: input.passages,
    history: input.history,
    message: input.message,
  });
  let streamed = false;
  const filter = createReplyFilter({
    onText: (text) => {
      if (filter.decision?.kind !== 'answer') return;
      streamed = true;
      input.onToken?.(text);
    },
  });
  const overheadMs = performance.now() - input.startedAt - input.condenseMs;
  const llmStartedAt = performance.now();
  const result = await llm.complete({
    model: input.model,
    purpose: 'answer',
    messages,
    maxCompletionTokens: ANSWER_COMPLETION_TOKENS_MAX,
    signal: input.signal,
    onDelta: (delta) => filter.push(delta),
  });
  const spent = {
    overheadMs,
    llmMs: performance.now() - llmStartedAt,
    model: result.ok ? result.value.model : input.model,
    firstTokenMs: result.ok ? result.value.firstTokenMs : null,
    usage: result.ok ? result.value.usage : result.error.details.usage,
    producedOutput: result.ok || result.error.details.producedOutput,
    error: result.ok ? null : result.error.kind,
  };
  if (input.signal?.aborted) {
    return {
      ...spent,
      streamed,
      aborted: true,
      protocol: null,
      decision: null,
      text: '',
      cited: [],
    };
  }
  filter.end();
  const decision = filter.decision;
  return {
    ...spent,
    streamed,
    aborted: false,
    protocol: decision?.kind === 'answer' ? decision.header : decision ? 'ok' : null,
    decision,
    text: filter.text,
    cited: filter.cited,
  };
}
