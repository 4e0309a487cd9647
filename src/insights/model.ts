// Insights schemas: the unanswered-questions report, its query, and turning a group into a Q&A.
import * as v from 'valibot';
import { Channel } from '../conversations/model.ts';
import { TimeRangeQuery } from '../http/time-range.ts';
import { QaSourceBody } from '../sources/model.ts';

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(100));

/** `/chatbots/:chatbotId/insights/unanswered/:groupId/…` */
export const GroupParams = v.object({ chatbotId: id, groupId: id });

/** A score threshold in a query string. */
const scoreParam = v.pipe(
  v.string(),
  v.regex(/^\d{1,6}(\.\d{1,6})?$/, 'a number ≥ 0'),
  v.transform(Number),
);

export const UnansweredQuery = v.object({
  ...TimeRangeQuery.entries,
  /** An answer whose best full-text (BM25) score is below this is listed as low-confidence (default 3). */
  minTextScore: v.optional(scoreParam),
  /** An answer whose best vector similarity is below this is listed as low-confidence (default 0.6). */
  minVectorScore: v.optional(scoreParam),
});

export const UnansweredGroup = v.object({
  /** Stable: POST …/:groupId/qa and DELETE …/:groupId address it. */
  id: v.string(),
  /** Questions of this group handed off in the period. */
  count: v.number(),
  /** Up to 5 distinct questions as the visitors wrote them, the most representative first. */
  examples: v.array(v.string()),
  lastSeenAt: v.string(),
  /** The conversations they came from (Crisp session ids, playground conversation ids), newest first, at most 20. */
  sessionIds: v.array(v.string()),
  /** The first human operator reply after the most recent handoff of the group that got one. */
  suggestedAnswer: v.nullable(v.string()),
});
export type UnansweredGroup = v.InferOutput<typeof UnansweredGroup>;

export const LowConfidenceItem = v.object({
  question: v.string(),
  reply: v.string(),
  /** The best passage's score (see `scoreKind`); null when no passage was retrieved. */
  topScore: v.nullable(v.number()),
  /** `vector`: cosine similarity (0–1); `fullText`: BM25. */
  scoreKind: v.nullable(v.picklist(['vector', 'fullText'])),
  sessionId: v.string(),
  channel: Channel,
  /** The bot message. */
  messageId: v.string(),
  at: v.string(),
});
export type LowConfidenceItem = v.InferOutput<typeof LowConfidenceItem>;

export const UnansweredReport = v.object({
  /** Open groups, most frequent first. */
  groups: v.array(UnansweredGroup),
  /** Answers (not handoffs) whose best passage scored low, newest first. */
  lowConfidence: v.array(LowConfidenceItem),
  from: v.string(),
  to: v.string(),
  /** More handoffs (or answers) than one read scans were in the period: the oldest were left out. */
  truncated: v.boolean(),
});
export type UnansweredReport = v.InferOutput<typeof UnansweredReport>;

/**
 * `{}` takes the group's representative question and suggested answer; either may be given (the
 * limits of a Q&A source's texts).
 */
export const GroupQaBody = v.optional(
  v.strictObject({
    question: v.optional(QaSourceBody.entries.question),
    answer: v.optional(QaSourceBody.entries.answer),
  }),
);
export type GroupQaBody = v.InferOutput<typeof GroupQaBody>;
