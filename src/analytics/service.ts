// Outcome analytics of a chatbot over a period: the counts come from SQL aggregates (per channel,
// per interval and in total), the reply latencies from each reply's two times; the percentiles are
// exact over the interval's values.
import type { Database } from 'bun:sqlite';
import { getChatbot } from '../chatbots/service.ts';
import type { Channel } from '../conversations/model.ts';
import {
  autoResolvedCounts,
  type Grouping,
  messageCounts,
  playgroundReplies,
  reopenedCounts,
  type StatsKey,
} from '../conversations/stats.ts';
import { replyTimes } from '../crisp/turn-store.ts';
import { intervalMs, intervalStart, intervalStarts, percentile } from './intervals.ts';
import type { AnalyticsReport, Interval, Outcomes } from './model.ts';

export type AnalyticsDeps = { db: Database };

const CHANNELS: readonly Channel[] = ['crisp', 'playground'];
const REASONS = ['no_answer', 'asked_for_human', 'frustration', 'error', 'quota'] as const;

/** Counts being summed, with the latencies still as values. */
type Tally = Omit<Outcomes, 'replyLatencyMs'> & { latenciesMs: number[] };

const emptyTally = (): Tally => ({
  conversations: 0,
  visitorMessages: 0,
  botAnswers: 0,
  handoffs: { no_answer: 0, asked_for_human: 0, frustration: 0, error: 0, quota: 0 },
  autoResolved: 0,
  humanTakeovers: 0,
  reopened: 0,
  llm: { tokens: 0, costUsd: 0 },
  latenciesMs: [],
});

/** Adds `b` into `a` (channels are disjoint sets of conversations: distinct counts add up). */
function add(a: Tally, b: Tally): Tally {
  a.conversations += b.conversations;
  a.visitorMessages += b.visitorMessages;
  a.botAnswers += b.botAnswers;
  for (const r of REASONS) a.handoffs[r] += b.handoffs[r];
  a.autoResolved += b.autoResolved;
  a.humanTakeovers += b.humanTakeovers;
  a.reopened += b.reopened;
  a.llm.tokens += b.llm.tokens;
  a.llm.costUsd += b.llm.costUsd;
  // A loop, not push(...b): a year of a busy chatbot's replies overflows the call's arguments.
  for (const ms of b.latenciesMs) a.latenciesMs.push(ms);
  return a;
}

function outcomes({ latenciesMs, ...t }: Tally): Outcomes {
  const sorted = [...latenciesMs].sort((x, y) => x - y);
  return {
    ...t,
    llm: { tokens: Math.round(t.llm.tokens), costUsd: Math.round(t.llm.costUsd * 1e8) / 1e8 },
    replyLatencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90) },
  };
}

/** Tallies per channel, for the totals (key `total`) and per interval start (ms). */
class Tallies {
  readonly #map = new Map<string, Tally>();
  get(channel: Channel, at: number | 'total'): Tally {
    const key = `${channel}:${at}`;
    const tally = this.#map.get(key) ?? emptyTally();
    this.#map.set(key, tally);
    return tally;
  }
}

/** The tally a row of SQL counts goes to: its interval's, parsed from `YYYY-MM-DD`, or the totals. */
const slot = (tallies: Tallies, row: StatsKey) =>
  tallies.get(row.channel, row.bucket === null ? 'total' : Date.parse(row.bucket));

/** The SQL aggregates of one grouping (an interval, or the whole period) into the tallies. */
function countInto(
  db: Database,
  tallies: Tallies,
  query: { chatbotId: string; from: string; to: string; channels: readonly Channel[] },
  grouping: Grouping,
) {
  const q = { ...query, grouping };
  for (const row of messageCounts(db, q)) {
    const tally = slot(tallies, row);
    tally.conversations = row.conversations;
    tally.visitorMessages = row.visitorMessages;
    tally.botAnswers = row.botAnswers;
    for (const r of REASONS) tally.handoffs[r] = row[r];
    tally.humanTakeovers = row.humanTakeovers;
    tally.llm = { tokens: row.tokens, costUsd: row.costUsd };
  }
  for (const row of autoResolvedCounts(db, q)) slot(tallies, row).autoResolved = row.count;
  for (const row of reopenedCounts(db, q)) slot(tallies, row).reopened = row.count;
}

/**
 * The outcomes of [from, to) per interval and in total, each split by channel; `channel` keeps one.
 */
export function analyticsReport(
  deps: AnalyticsDeps,
  chatbotId: string,
  query: { from: Date; to: Date; interval: Interval; channel: Channel | null },
): AnalyticsReport {
  const { db } = deps;
  getChatbot(db, chatbotId);
  const { interval } = query;
  const channels = query.channel ? [query.channel] : CHANNELS;
  const from = query.from.toISOString();
  const to = query.to.toISOString();
  const tallies = new Tallies();
  const sql = { chatbotId, from, to, channels };
  countInto(db, tallies, sql, interval);
  countInto(db, tallies, sql, 'total');

  const latency = (channel: Channel, at: number, ms: number) => {
    tallies.get(channel, intervalStart(at, interval)).latenciesMs.push(ms);
    tallies.get(channel, 'total').latenciesMs.push(ms);
  };
  if (channels.includes('crisp')) {
    for (const r of replyTimes(db, chatbotId, query.from.getTime(), query.to.getTime())) {
      latency('crisp', r.receivedAt, r.sentAt - r.receivedAt);
    }
  }
  if (channels.includes('playground')) {
    for (const r of playgroundReplies(db, sql)) {
      const at = Date.parse(r.at);
      latency('playground', at, Date.parse(r.repliedAt) - at);
    }
  }

  const split = (at: number | 'total') => {
    const all = emptyTally();
    const byChannel: Partial<Record<Channel, Outcomes>> = {};
    for (const channel of channels) {
      const tally = tallies.get(channel, at);
      byChannel[channel] = outcomes(tally);
      add(all, tally);
    }
    return { ...outcomes(all), channels: byChannel };
  };
  const step = intervalMs(interval);
  return {
    from,
    to,
    interval,
    channel: query.channel ?? 'all',
    totals: split('total'),
    series: intervalStarts(query.from.getTime(), query.to.getTime(), interval).map((start) => ({
      start: new Date(start).toISOString(),
      end: new Date(start + step).toISOString(),
      ...split(start),
    })),
  };
}
