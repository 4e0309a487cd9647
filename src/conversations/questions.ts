// Reads of bot turns for the insights (src/insights/): the visitor's question and the bot's reply
// with its provenance, and the first operator reply after a handoff. The conversations feature owns
// these tables; this file is its read side for them.

import type { Database } from 'bun:sqlite';
import { MESSAGE_CHARS_MAX } from '../answers/model.ts';
import type { Channel, HandoffReason } from './model.ts';

/** A half-open time range [from, to) of ISO-8601 UTC times (as stored: `toISOString()`). */
export type TimeRange = { from: string; to: string };

/** One bot turn: the bot message, the visitor message it answered, and where it happened. */
export type BotTurn = {
  /** The bot message's id. */
  messageId: string;
  conversationId: string;
  /** The Crisp session id, or the playground conversation id. */
  sessionId: string;
  channel: Channel;
  /** When the bot message was stored. */
  at: string;
  /** The visitor message right before it (null if none: never for a turn the pipeline ran). */
  question: string | null;
  reply: string;
  provenance: Record<string, unknown> | null;
};

type BotTurnRow = Omit<BotTurn, 'provenance'> & { provenance: string | null };

/**
 * The newest bot turns of a chatbot in `range` that ended with `handoff` (a reason), or that
 * answered (`null`), newest first: at most `limit`, and whether there were more.
 */
export function botTurns(
  db: Database,
  chatbotId: string,
  range: TimeRange,
  options: { handoff: HandoffReason | null; limit: number },
): { turns: BotTurn[]; more: boolean } {
  // The question as the LLM saw it (cut to MESSAGE_CHARS_MAX): a Crisp turn's message can be a
  // whole burst, and insights compares, stores and shows it.
  // A conversation last active before `from` holds no message in the range (every write to a
  // conversation moves `updated_at` to the clock's now), so the index on it narrows the scan.
  const rows = db
    .query<BotTurnRow, [string, string, string, string | null, number]>(
      `SELECT b.id AS messageId, b.conversation_id AS conversationId, c.external_id AS sessionId,
         c.channel, b.created_at AS at, b.content AS reply, b.provenance,
         (SELECT substr(v.content, 1, ${MESSAGE_CHARS_MAX}) FROM messages v
          WHERE v.conversation_id = b.conversation_id AND v.role = 'visitor' AND v.seq < b.seq
          ORDER BY v.seq DESC LIMIT 1) AS question
       FROM conversations c JOIN messages b ON b.conversation_id = c.id
       WHERE c.chatbot_id = ?1 AND c.channel IN ('crisp', 'playground') AND c.updated_at >= ?2
         AND b.role = 'bot' AND b.created_at >= ?2 AND b.created_at < ?3
         AND b.handoff_reason IS ?4
       ORDER BY b.created_at DESC, b.id LIMIT ?5`,
    )
    .all(chatbotId, range.from, range.to, options.handoff, options.limit + 1);
  const turns = rows.slice(0, options.limit).map((row) => ({
    ...row,
    provenance: row.provenance ? (JSON.parse(row.provenance) as Record<string, unknown>) : null,
  }));
  return { turns, more: rows.length > options.limit };
}

/**
 * For each bot message id, the first operator message that followed it in its conversation before
 * the bot spoke again (the human's answer to a handoff), when there is one.
 */
export function operatorRepliesAfter(db: Database, messageIds: string[]): Map<string, string> {
  if (messageIds.length === 0) return new Map();
  const rows = db
    .query<{ messageId: string; reply: string | null }, [string]>(
      `SELECT b.id AS messageId,
         (SELECT o.content FROM messages o
          WHERE o.conversation_id = b.conversation_id AND o.role = 'operator' AND o.seq > b.seq
            AND o.seq < COALESCE((SELECT MIN(n.seq) FROM messages n
                                  WHERE n.conversation_id = b.conversation_id AND n.role = 'bot'
                                    AND n.seq > b.seq), 9223372036854775807)
          ORDER BY o.seq LIMIT 1) AS reply
       FROM messages b WHERE b.id IN (SELECT value FROM json_each(?1))`,
    )
    .all(JSON.stringify(messageIds));
  return new Map(rows.filter((r) => r.reply !== null).map((r) => [r.messageId, r.reply as string]));
}
