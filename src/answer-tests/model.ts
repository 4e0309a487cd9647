// Answer-test schemas: the tests (golden questions), their runs and results; the single source of
// truth for routes, storage and docs (docs/notes/answer-tests.md).
import * as v from 'valibot';
import { ChatUsage, MESSAGE_CHARS_MAX } from '../answers/model.ts';
import { HandoffReason } from '../conversations/model.ts';
import { ChatbotParams } from '../http/params.ts';

/** Tests one chatbot may have (a run of 200 takes a few minutes of LLM time). */
export const TESTS_PER_CHATBOT_MAX = 200;
/** Items in each of `mustCite`, `mustContain`, `mustNotContain`. */
export const CHECK_ITEMS_MAX = 20;
/** Characters of one `mustContain` / `mustNotContain` text. */
export const CHECK_TEXT_CHARS_MAX = 500;
/** Runs kept per chatbot: starting one more deletes the oldest finished ones. */
export const RUNS_KEPT = 50;

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(100));

/** `/chatbots/:chatbotId/tests/:testId` */
export const TestParams = v.object({ ...ChatbotParams.entries, testId: id });
/** `/chatbots/:chatbotId/tests/runs/:runId` */
export const RunParams = v.object({ ...ChatbotParams.entries, runId: id });

export const Expect = v.picklist(['answer', 'handoff']);
export type Expect = v.InferOutput<typeof Expect>;

const checkTexts = v.pipe(
  v.array(
    v.pipe(
      v.string(),
      v.check((s) => s.trim().length > 0, 'must not be empty'),
      v.maxLength(CHECK_TEXT_CHARS_MAX),
    ),
  ),
  v.maxLength(CHECK_ITEMS_MAX),
);

/** An ISO 639-1 code with an optional region (`en`, `pt-BR`). */
const languageCode = v.pipe(v.string(), v.regex(/^[a-z]{2}(-[A-Za-z0-9]{2,8})?$/));

/**
 * Body of POST …/tests: a `question` with its `expect`ation, or `fromMessageId` (a visitor message
 * of this chatbot: its text, and the expectation taken from what the bot did). The other fields
 * refine either. Which combinations make sense is checked by the service (422).
 */
export const CreateTestBody = v.strictObject({
  /** The visitor's question, 1–8,000 characters (as the playground takes). */
  question: v.optional(
    v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(MESSAGE_CHARS_MAX)),
  ),
  /** A visitor message id (from a conversation) to make the test from. */
  fromMessageId: v.optional(id),
  /** `answer`: the bot must answer; `handoff`: it must hand the visitor to a human. */
  expect: v.optional(Expect),
  /** Source ids the answer must cite (every one of them); at most 20. */
  mustCite: v.optional(v.pipe(v.array(id), v.maxLength(CHECK_ITEMS_MAX))),
  /** Texts the reply must contain, case-insensitively; at most 20 of ≤ 500 characters. */
  mustContain: v.optional(checkTexts),
  /** Texts the reply must not contain, case-insensitively; at most 20 of ≤ 500 characters. */
  mustNotContain: v.optional(checkTexts),
  /** The language the answer must be in (ISO 639-1, e.g. `de`); null or absent: any. */
  language: v.optional(v.nullable(languageCode)),
});
export type CreateTestBody = v.InferOutput<typeof CreateTestBody>;

export const ResultStatus = v.picklist(['pass', 'fail']);
export type ResultStatus = v.InferOutput<typeof ResultStatus>;

/** A test's result in the latest finished run that ran it. */
export const LastResult = v.object({
  runId: v.string(),
  status: ResultStatus,
  reasons: v.array(v.string()),
  finishedAt: v.nullable(v.string()),
});
export type LastResult = v.InferOutput<typeof LastResult>;

const texts = v.array(v.string());

/** What a test checks, as stored: the body's checks with their defaults ([] and null). */
const Checks = { expect: Expect, mustCite: texts, mustContain: texts, mustNotContain: texts };

export const AnswerTest = v.object({
  id: v.string(),
  question: v.string(),
  ...Checks,
  language: v.nullable(v.string()),
  /** The visitor message the test was made from; null when written by hand. */
  fromMessageId: v.nullable(v.string()),
  createdAt: v.string(),
  /** Null until a finished run ran it. */
  lastResult: v.nullable(LastResult),
});
export type AnswerTest = v.InferOutput<typeof AnswerTest>;

export const TestList = v.object({ items: v.array(AnswerTest) });

export const RunStatus = v.picklist(['queued', 'running', 'done', 'failed']);
export type RunStatus = v.InferOutput<typeof RunStatus>;
export const RunTrigger = v.picklist(['manual', 'refresh']);
export type RunTrigger = v.InferOutput<typeof RunTrigger>;

/** One test's outcome in a run. */
export const TestResult = v.object({
  testId: v.string(),
  /** The question as it was run. */
  question: v.string(),
  status: ResultStatus,
  /** Each failed check in plain words; empty when the test passed. */
  reasons: v.array(v.string()),
  /** What the visitor would have read (the handoff text on a handoff). */
  reply: v.string(),
  handoff: v.boolean(),
  handoffReason: v.nullable(HandoffReason),
  /** Ids of the sources the answer cited, in citation order. */
  cited: v.array(v.string()),
  /**
   * Differs from this test's result in the latest earlier finished run: another status, another
   * set of cited sources, or another reply (compared case- and whitespace-insensitively). False
   * when the test has no earlier result.
   */
  changed: v.boolean(),
  /** The status of that earlier result (null: none). */
  previousStatus: v.nullable(ResultStatus),
  /** Tokens and estimated cost of this test's LLM calls. */
  usage: ChatUsage,
  costUsd: v.number(),
});
export type TestResult = v.InferOutput<typeof TestResult>;

export const RunSummary = v.object({
  runId: v.string(),
  status: RunStatus,
  /** `manual`: POST …/tests/run; `refresh`: a source refresh changed content. */
  trigger: RunTrigger,
  /** The sources whose refresh started (or joined) this run. */
  sourceIds: v.array(v.string()),
  passed: v.number(),
  failed: v.number(),
  /** Estimated LLM cost of the run so far (sum of its results' costUsd). */
  costUsd: v.number(),
  /** Why the run failed (null unless `failed`). */
  error: v.nullable(v.string()),
  createdAt: v.string(),
  startedAt: v.nullable(v.string()),
  finishedAt: v.nullable(v.string()),
});
export type RunSummary = v.InferOutput<typeof RunSummary>;

export const Run = v.object({
  ...RunSummary.entries,
  /** Tokens and cost of every LLM call of the run so far. */
  usage: ChatUsage,
  /** In the tests' order; a running run shows the results so far. */
  results: v.array(TestResult),
});
export type Run = v.InferOutput<typeof Run>;

export const RunList = v.object({ items: v.array(RunSummary) });

/** Answer of POST …/tests/run: the run that will test the chatbot as it is now. */
export const RunStarted = v.object({ runId: v.string(), status: RunStatus });
