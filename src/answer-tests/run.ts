// Running a chatbot's tests: each question goes through the real answer pipeline (answerMessage)
// in a conversation of its own that is removed afterwards, so a run leaves no history, posts
// nothing to Crisp and takes nothing from the visitor quota; its LLM usage is recorded with each
// result.
import type { AnswerResult } from '../answers/answer.ts';
import { type AskOnceDeps, askOnce } from '../answers/ask-once.ts';
import type { Chatbot } from '../chatbots/model.ts';
import { failedChecks, hasChanged } from './checks.ts';
import type { TestResult } from './model.ts';
import type { TestSpec } from './service.ts';
import { doneTestIds, insertResult, previousResult } from './store.ts';

export type RunDeps = AskOnceDeps;

/** Ids of the sources an answer cited, in citation order, each once. */
function citedSources(result: AnswerResult): string[] {
  const sourceOf = new Map(result.provenance.retrieval.map((r) => [r.chunkId, r.sourceId]));
  const ids = result.citedChunkIds.map((id) => sourceOf.get(id));
  return [...new Set(ids.filter((id): id is string => id !== undefined))];
}

/** Runs one test and judges it against the test's expectations and its previous result. */
async function runTest(
  deps: RunDeps,
  runId: string,
  chatbot: Chatbot,
  test: TestSpec,
  signal: AbortSignal,
): Promise<TestResult | null> {
  // Its external id is fixed per run and test: a run resumed after a crash starts it afresh.
  const externalId = `answer-test:${runId}:${test.id}`;
  const answer = await askOnce(deps, chatbot, test.question, { externalId, signal });
  if (answer.aborted) return null;
  const observed = {
    reply: answer.reply,
    handoff: answer.handoff,
    handoffReason: answer.reason,
    cited: citedSources(answer),
  };
  const reasons = failedChecks(test, observed);
  const status = reasons.length === 0 ? 'pass' : 'fail';
  const previous = previousResult(deps.db, runId, test.id);
  return {
    testId: test.id,
    question: test.question,
    status,
    reasons,
    ...observed,
    changed: hasChanged({ status, ...observed }, previous),
    previousStatus: previous?.status ?? null,
    usage: answer.usage,
    costUsd: answer.usage.costUsd,
  };
}

/**
 * Runs the tests of a run that have no result yet (a resumed run goes on where it stopped), in
 * the order they were added, recording each result as soon as it is known. Returns false when
 * `signal` stopped it before the end.
 */
export async function runTests(
  deps: RunDeps,
  run: { runId: string; chatbot: Chatbot; tests: readonly TestSpec[] },
  signal: AbortSignal,
): Promise<boolean> {
  const done = doneTestIds(deps.db, run.runId);
  for (const test of run.tests) {
    if (done.has(test.id)) continue;
    if (signal.aborted) return false;
    const result = await runTest(deps, run.runId, run.chatbot, test, signal);
    if (!result) return false;
    insertResult(deps.db, run.runId, result);
  }
  return !signal.aborted;
}
