// Aggregates over conversations, messages and resolutions for the analytics (src/analytics/), in
// SQL: counted per channel and per interval (UTC day, or week from Monday), or over the whole
// range. The definitions are the README's ("Insights and analytics").
import type { Database } from 'bun:sqlite';
import type { Channel } from './model.ts';
import type { TimeRange } from './questions.ts';

/** How rows are grouped in time: per UTC day, per week (from Monday), or not at all (totals). */
export type Grouping = 'day' | 'week' | 'total';

export type StatsQuery = TimeRange & {
  chatbotId: string;
  /** One channel, or both. */
  channels: readonly Channel[];
  grouping: Grouping;
};

/**
 * The interval key of a stored time (`YYYY-MM-DDTHH:MM:SS.sssZ`): its UTC day, or the Monday that
 * starts its week (six days back, then forward to the next Monday: the Monday on or before it).
 */
function bucketOf(grouping: Grouping, column: string): string {
  if (grouping === 'day') return `substr(${column}, 1, 10)`;
  if (grouping === 'week') return `date(substr(${column}, 1, 10), '-6 days', 'weekday 1')`;
  return 'NULL';
}

/** The parameters every statement below takes, in order (?1 … ?5). */
const params = (q: StatsQuery): [string, string, string, string, string] => [
  q.chatbotId,
  q.from,
  q.to,
  q.channels[0] ?? 'crisp',
  q.channels[1] ?? q.channels[0] ?? 'crisp',
];

// The conversations of the chatbot and channels that may hold something in the range: one
// last active before `from` holds nothing there (each write moves `updated_at` to the clock's now).
const ACTIVE = `c.chatbot_id = ?1 AND c.channel IN (?4, ?5) AND c.updated_at >= ?2
  AND c.created_at < ?3`;

/** Key of one row of counts: the channel and the interval (null for totals). */
export type StatsKey = { channel: Channel; bucket: string | null };

export type MessageCounts = StatsKey & {
  conversations: number;
  visitorMessages: number;
  botAnswers: number;
  no_answer: number;
  asked_for_human: number;
  frustration: number;
  error: number;
  quota: number;
  humanTakeovers: number;
  tokens: number;
  costUsd: number;
};

/** Message counts, distinct conversations, and LLM usage of the bot messages. */
export function messageCounts(db: Database, q: StatsQuery): MessageCounts[] {
  const reason = (r: string) => `SUM(m.role = 'bot' AND m.handoff_reason = '${r}') AS ${r}`;
  const usage = (path: string) =>
    `TOTAL(CASE WHEN m.role = 'bot' THEN json_extract(m.provenance, '$.usage.${path}') END)`;
  return db
    .query<MessageCounts, [string, string, string, string, string]>(
      `SELECT c.channel AS channel, ${bucketOf(q.grouping, 'm.created_at')} AS bucket,
         COUNT(DISTINCT CASE WHEN m.role = 'visitor' THEN m.conversation_id END) AS conversations,
         SUM(m.role = 'visitor') AS visitorMessages,
         SUM(m.role = 'bot' AND m.handoff_reason IS NULL) AS botAnswers,
         ${['no_answer', 'asked_for_human', 'frustration', 'error', 'quota'].map(reason).join(', ')},
         COUNT(DISTINCT CASE WHEN m.role = 'operator' THEN m.conversation_id END) AS humanTakeovers,
         ${usage('totalTokens')} AS tokens, ${usage('costUsd')} AS costUsd
       FROM conversations c JOIN messages m ON m.conversation_id = c.id
       WHERE ${ACTIVE} AND m.created_at >= ?2 AND m.created_at < ?3
       GROUP BY c.channel, bucket`,
    )
    .all(...params(q));
}

export type ConversationCount = StatsKey & { count: number };

/**
 * Conversations resolved by the bot: a resolution in the range whose span (since the previous
 * resolution of the conversation, or its start) holds a bot message and no operator message.
 */
export function autoResolvedCounts(db: Database, q: StatsQuery): ConversationCount[] {
  const inSpan = (role: string) =>
    `SELECT 1 FROM messages m WHERE m.conversation_id = s.id AND m.role = '${role}'
       AND m.created_at > s.since AND m.created_at <= s.at`;
  return db
    .query<ConversationCount, [string, string, string, string, string]>(
      `WITH s AS (
         SELECT c.channel, r.conversation_id AS id, r.resolved_at AS at,
           COALESCE((SELECT MAX(p.resolved_at) FROM conversation_resolutions p
                     WHERE p.conversation_id = r.conversation_id
                       AND p.resolved_at < r.resolved_at), '') AS since
         FROM conversations c JOIN conversation_resolutions r ON r.conversation_id = c.id
         WHERE ${ACTIVE} AND r.resolved_at >= ?2 AND r.resolved_at < ?3)
       SELECT channel, ${bucketOf(q.grouping, 'at')} AS bucket, COUNT(DISTINCT id) AS count
       FROM s WHERE EXISTS (${inSpan('bot')}) AND NOT EXISTS (${inSpan('operator')})
       GROUP BY channel, bucket`,
    )
    .all(...params(q));
}

/**
 * Reopened conversations: a visitor message in the range that is the first one after a
 * resolution of its conversation.
 */
export function reopenedCounts(db: Database, q: StatsQuery): ConversationCount[] {
  return db
    .query<ConversationCount, [string, string, string, string, string]>(
      `WITH v AS (
         SELECT c.channel, m.conversation_id AS id, m.created_at AS at,
           (SELECT MAX(r.resolved_at) FROM conversation_resolutions r
            WHERE r.conversation_id = m.conversation_id AND r.resolved_at < m.created_at) AS since
         FROM conversations c JOIN messages m ON m.conversation_id = c.id
         WHERE ${ACTIVE} AND m.role = 'visitor' AND m.created_at >= ?2 AND m.created_at < ?3)
       SELECT channel, ${bucketOf(q.grouping, 'at')} AS bucket, COUNT(DISTINCT id) AS count
       FROM v WHERE since IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM messages w WHERE w.conversation_id = v.id AND w.role = 'visitor'
           AND w.created_at > v.since AND w.created_at < v.at)
       GROUP BY channel, bucket`,
    )
    .all(...params(q));
}

/**
 * Playground reply times: each visitor message in the range whose next message is the bot's
 * reply, with when that reply was stored (the playground answers in the request itself).
 */
export function playgroundReplies(
  db: Database,
  q: Pick<StatsQuery, 'chatbotId' | 'from' | 'to'>,
): { at: string; repliedAt: string }[] {
  return db
    .query<{ at: string; repliedAt: string }, [string, string, string]>(
      `SELECT m.created_at AS at, b.created_at AS repliedAt
       FROM conversations c JOIN messages m ON m.conversation_id = c.id
         JOIN messages b ON b.conversation_id = m.conversation_id AND b.seq = m.seq + 1
       WHERE c.chatbot_id = ?1 AND c.channel = 'playground' AND c.updated_at >= ?2
         AND m.role = 'visitor' AND m.created_at >= ?2 AND m.created_at < ?3 AND b.role = 'bot'`,
    )
    .all(q.chatbotId, q.from, q.to);
}
