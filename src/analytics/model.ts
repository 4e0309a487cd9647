// Analytics schemas: the query (period, interval, channel) and the outcome counts, in total and per
// interval, split by channel. Definitions: the README ("Insights and analytics").
import * as v from 'valibot';
import { Channel } from '../conversations/model.ts';
import { TimeRangeQuery } from '../http/time-range.ts';

export const Interval = v.picklist(['day', 'week']);
export type Interval = v.InferOutput<typeof Interval>;

export const AnalyticsQuery = v.object({
  ...TimeRangeQuery.entries,
  /** UTC days, or weeks from Monday 00:00 UTC (default `day`). */
  interval: v.optional(Interval),
  /** One channel only (default: both). */
  channel: v.optional(Channel),
});
export type AnalyticsQuery = v.InferOutput<typeof AnalyticsQuery>;

const count = v.number();

export const Outcomes = v.object({
  /** Conversations with at least one visitor message in the interval. */
  conversations: count,
  visitorMessages: count,
  /** Bot messages that are not handoffs. */
  botAnswers: count,
  /** Bot messages that handed off, by reason. */
  handoffs: v.object({
    no_answer: count,
    asked_for_human: count,
    frustration: count,
    error: count,
    quota: count,
  }),
  /** Conversations resolved with no operator message since they were last resolved (Crisp only). */
  autoResolved: count,
  /** Conversations where an operator wrote. */
  humanTakeovers: count,
  /** Conversations a visitor wrote in again after they were resolved. */
  reopened: count,
  /** Visitor message received → reply posted: nearest-rank percentiles, null without replies. */
  replyLatencyMs: v.object({ p50: v.nullable(count), p90: v.nullable(count) }),
  /** What the bot messages' LLM calls used (provenance.usage). */
  llm: v.object({ tokens: count, costUsd: count }),
});
export type Outcomes = v.InferOutput<typeof Outcomes>;

/** The same numbers per channel (only the channels asked for). */
const Channels = v.object({ crisp: v.optional(Outcomes), playground: v.optional(Outcomes) });

export const AnalyticsReport = v.object({
  from: v.string(),
  to: v.string(),
  interval: Interval,
  channel: v.picklist(['all', 'crisp', 'playground']),
  /** The whole period (a conversation active on several days counts once here). */
  totals: v.object({ ...Outcomes.entries, channels: Channels }),
  /** Every interval that overlaps [from, to), empty ones included, oldest first. */
  series: v.array(
    v.object({
      /** The interval's start (UTC midnight; a Monday for weeks); the first may be before `from`. */
      start: v.string(),
      end: v.string(),
      ...Outcomes.entries,
      channels: Channels,
    }),
  ),
});
export type AnalyticsReport = v.InferOutput<typeof AnalyticsReport>;
