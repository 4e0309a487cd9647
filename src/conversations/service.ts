// Conversations over SQLite, the one owner of the `conversations` and `messages` tables:
// get-or-create, messages, history for the prompt, who owns the conversation (bot or human),
// reads and pages.
import type { Database } from 'bun:sqlite';
import { AppError } from '../errors.ts';
import { estimateTokens } from '../llm/types.ts';
import type {
  BotState,
  Channel,
  Conversation,
  ConversationWithMessages,
  HandoffReason,
  HistoryTurn,
  Message,
  MessageRole,
} from './model.ts';

// Rows come back in the API's shape: the columns are renamed in SQL, not copied field by field.
const CONVERSATION = `id, chatbot_id AS chatbotId, channel, external_id AS externalId,
  website_id AS websiteId, bot_state AS botState, muted_until AS mutedUntil,
  history_since AS historySince, created_at AS createdAt, updated_at AS updatedAt`;

const MESSAGE = `id, conversation_id AS conversationId, role, content, fingerprint,
  handoff_reason AS handoffReason, provenance, created_at AS createdAt`;

/** A message row: `provenance` is still the stored JSON text. */
type MessageRow = Omit<Message, 'provenance'> & { provenance: string | null };

const newId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll('-', '')}`;

const toMessage = (row: MessageRow): Message => ({
  ...row,
  provenance: row.provenance ? (JSON.parse(row.provenance) as Record<string, unknown>) : null,
});

export type ConversationKey = {
  chatbotId: string;
  channel: Channel;
  externalId: string;
  websiteId?: string | null;
};

/** The conversation for `(chatbotId, channel, externalId)`, created on first use (race-safe). */
export function getOrCreateConversation(
  db: Database,
  key: ConversationKey,
  now: Date,
): Conversation {
  const at = now.toISOString();
  db.query(
    `INSERT INTO conversations
       (id, chatbot_id, channel, external_id, website_id, history_since, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (chatbot_id, channel, external_id) DO NOTHING`,
  ).run(newId('cv'), key.chatbotId, key.channel, key.externalId, key.websiteId ?? null, at, at, at);
  return findConversationByExternalId(
    db,
    key.chatbotId,
    key.channel,
    key.externalId,
  ) as Conversation;
}

/** The conversation of a Crisp session, created on its first event. */
export function crispConversation(
  db: Database,
  session: { chatbotId: string; websiteId: string; sessionId: string },
  now: Date,
): Conversation {
  const { chatbotId, websiteId, sessionId } = session;
  return getOrCreateConversation(
    db,
    { chatbotId, channel: 'crisp', externalId: sessionId, websiteId },
    now,
  );
}

export function findConversation(db: Database, id: string): Conversation | undefined {
  return (
    db
      .query<Conversation, [string]>(`SELECT ${CONVERSATION} FROM conversations WHERE id = ?`)
      .get(id) ?? undefined
  );
}

export function findConversationByExternalId(
  db: Database,
  chatbotId: string,
  channel: Channel,
  externalId: string,
): Conversation | undefined {
  return (
    db
      .query<Conversation, [string, string, string]>(
        `SELECT ${CONVERSATION} FROM conversations
         WHERE chatbot_id = ? AND channel = ? AND external_id = ?`,
      )
      .get(chatbotId, channel, externalId) ?? undefined
  );
}

/** Removes a conversation and its messages (the Crisp dry run's throwaway one). */
export function deleteConversation(db: Database, id: string): void {
  db.query('DELETE FROM conversations WHERE id = ?').run(id);
}

export type NewMessage = {
  role: MessageRole;
  content: string;
  fingerprint?: string | number | null;
  handoffReason?: HandoffReason | null;
  provenance?: Record<string, unknown> | null;
};

/** Appends a message (ordered by a per-conversation sequence) and touches the conversation. */
export function appendMessage(
  db: Database,
  conversationId: string,
  message: NewMessage,
  now: Date,
): Message {
  const at = now.toISOString();
  const stored: Message = {
    id: newId('msg'),
    conversationId,
    role: message.role,
    content: message.content,
    fingerprint: message.fingerprint == null ? null : String(message.fingerprint),
    handoffReason: message.handoffReason ?? null,
    provenance: message.provenance ?? null,
    createdAt: at,
  };
  db.transaction(() => {
    db.query(
      `INSERT INTO messages
         (id, conversation_id, seq, role, content, fingerprint, handoff_reason, provenance, created_at)
       VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?),
               ?, ?, ?, ?, ?, ?)`,
    ).run(
      stored.id,
      conversationId,
      conversationId,
      stored.role,
      stored.content,
      stored.fingerprint,
      stored.handoffReason,
      stored.provenance ? JSON.stringify(stored.provenance) : null,
      at,
    );
    db.query('UPDATE conversations SET updated_at = ? WHERE id = ?').run(at, conversationId);
  })();
  return stored;
}

/**
 * Stores the visitor's message before it is answered: the one place a visitor message is
 * written (the playground, the Crisp dry run and the Crisp turn all call it), so the answer reads
 * the history around a message that is already there.
 */
export function addVisitorMessage(
  db: Database,
  conversationId: string,
  message: { content: string; fingerprint?: string | null },
  now: Date,
): Message {
  return appendMessage(
    db,
    conversationId,
    { role: 'visitor', content: message.content, fingerprint: message.fingerprint ?? null },
    now,
  );
}

/**
 * Removes messages that never reached the visitor (a Crisp turn stopped by an operator typing:
 * its visitor message is stored again when it is answered, its answer was never posted).
 */
export function deleteMessages(db: Database, ids: readonly string[]): void {
  const remove = db.query('DELETE FROM messages WHERE id = ?');
  for (const id of ids) remove.run(id);
}

/** Records the fingerprint Crisp gave a message we posted (our-echo recognition). */
export function setMessageFingerprint(
  db: Database,
  messageId: string,
  fingerprint: string | number,
): void {
  db.query('UPDATE messages SET fingerprint = ? WHERE id = ?').run(String(fingerprint), messageId);
}

/** A message with the chatbot its conversation belongs to, or undefined. */
export function findMessage(
  db: Database,
  id: string,
): (Message & { chatbotId: string }) | undefined {
  const row = db
    .query<MessageRow & { chatbotId: string }, [string]>(
      `SELECT ${MESSAGE}, (SELECT chatbot_id FROM conversations c
         WHERE c.id = messages.conversation_id) AS chatbotId
       FROM messages WHERE id = ?`,
    )
    .get(id);
  return row ? { ...toMessage(row), chatbotId: row.chatbotId } : undefined;
}

/** The bot's answer to a message: the first bot message after it in its conversation. */
export function botReplyTo(db: Database, messageId: string): Message | undefined {
  const row = db
    .query<MessageRow, [string]>(
      `SELECT ${MESSAGE} FROM messages
       WHERE conversation_id = (SELECT conversation_id FROM messages WHERE id = ?1)
         AND role = 'bot' AND seq > (SELECT seq FROM messages WHERE id = ?1)
       ORDER BY seq LIMIT 1`,
    )
    .get(messageId);
  return row ? toMessage(row) : undefined;
}

/**
 * The most recent messages since `history_since`, oldest first, within `tokensMax` (estimated)
 * and `messagesMax`. `excludeMessageId` leaves out the message being answered.
 */
export function recentHistory(
  db: Database,
  conversationId: string,
  options: { tokensMax: number; messagesMax: number; excludeMessageId?: string },
): HistoryTurn[] {
  const rows = db
    .query<HistoryTurn, [string, string, number]>(
      `SELECT m.role, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.conversation_id = ? AND m.created_at >= c.history_since AND m.id != ?
       ORDER BY m.seq DESC LIMIT ?`,
    )
    .all(conversationId, options.excludeMessageId ?? '', options.messagesMax);
  const turns: HistoryTurn[] = [];
  let tokens = 0;
  for (const row of rows) {
    const cost = estimateTokens(row.content) + 4;
    if (tokens + cost > options.tokensMax) break;
    tokens += cost;
    turns.push({ role: row.role, content: row.content });
  }
  return turns.reverse();
}

/** One conversation with its messages (oldest first), or undefined. */
export function getConversationWithMessages(
  db: Database,
  id: string,
): ConversationWithMessages | undefined {
  const conversation = findConversation(db, id);
  if (!conversation) return undefined;
  const messages = db
    .query<MessageRow, [string]>(
      `SELECT ${MESSAGE} FROM messages WHERE conversation_id = ? ORDER BY seq`,
    )
    .all(id)
    .map(toMessage);
  return { ...conversation, messages };
}

/** Where a page of the list starts: after this conversation (in the list's order). */
type Cursor = { updatedAt: string; id: string };

const encodeCursor = (c: Conversation) =>
  Buffer.from(JSON.stringify([c.updatedAt, c.id])).toString('base64url');

function decodeCursor(cursor: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    const [updatedAt, id] = Array.isArray(parsed) ? parsed : [];
    if (typeof updatedAt === 'string' && typeof id === 'string') return { updatedAt, id };
  } catch {}
  throw new AppError('VALIDATION_FAILED', 'cursor: not a cursor this list returned');
}

/**
 * One page of a chatbot's conversations of `channel`, most recently active first; `nextCursor`
 * (null on the last page) continues after the page's last conversation.
 */
export function listConversations(
  db: Database,
  chatbotId: string,
  options: { channel: Channel; limit: number; cursor?: string },
): { items: Conversation[]; nextCursor: string | null } {
  const after = options.cursor ? decodeCursor(options.cursor) : null;
  // One row past the page says whether there is another page.
  const rows = db
    .query<Conversation, [string, string, string | null, string | null, number]>(
      `SELECT ${CONVERSATION} FROM conversations
       WHERE chatbot_id = ?1 AND channel = ?2
         AND (?3 IS NULL OR updated_at < ?3 OR (updated_at = ?3 AND id > ?4))
       ORDER BY updated_at DESC, id LIMIT ?5`,
    )
    .all(
      chatbotId,
      options.channel,
      after?.updatedAt ?? null,
      after?.id ?? null,
      options.limit + 1,
    );
  const items = rows.slice(0, options.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > options.limit && last ? encodeCursor(last) : null };
}

// ---------------------------------------------------------------------------------------------
// Who owns a conversation: the bot, or a human until a given time (mutes, resolve, pause).

/** Hours → a Date that many hours after `now`. */
export const hoursFrom = (now: Date, hours: number) => new Date(now.getTime() + hours * 3_600_000);

/** Expired mutes read as `bot` without a write. */
export function botStateOf(conversation: Conversation, now: Date): BotState {
  if (conversation.botState !== 'human') return { state: 'bot', until: null };
  if (conversation.mutedUntil !== null && conversation.mutedUntil <= now.toISOString()) {
    return { state: 'bot', until: null };
  }
  return { state: 'human', until: conversation.mutedUntil };
}

/** True while a human owns the conversation (the bot must not speak). */
export function isMuted(db: Database, conversationId: string, now: Date): boolean {
  const conversation = findConversation(db, conversationId);
  return conversation !== undefined && botStateOf(conversation, now).state === 'human';
}

/**
 * Hands the conversation to a human until `until` (null = indefinitely). A mute only ever gets
 * longer: an operator's message extends it, but never shortens an admin's open-ended pause.
 */
export function mute(db: Database, conversationId: string, until: Date | null, now: Date) {
  const at = now.toISOString();
  if (until === null) {
    db.query(
      "UPDATE conversations SET bot_state = 'human', muted_until = NULL, updated_at = ? WHERE id = ?",
    ).run(at, conversationId);
    return;
  }
  const untilIso = until.toISOString();
  db.query(
    `UPDATE conversations SET
       muted_until = CASE
         WHEN bot_state = 'human' AND muted_until IS NULL THEN NULL
         WHEN bot_state = 'human' AND muted_until > ? THEN muted_until
         ELSE ? END,
       bot_state = 'human', updated_at = ?
     WHERE id = ?`,
  ).run(untilIso, untilIso, at, conversationId);
}

/**
 * Gives the conversation back to the bot. `restartHistory` (a Crisp "resolved") also moves the
 * start of the history the bot reads to now, so a reopened conversation does not carry the old
 * handoff into the next answer.
 */
export function unmute(
  db: Database,
  conversationId: string,
  options: { restartHistory: boolean },
  now: Date,
) {
  const at = now.toISOString();
  db.query(
    `UPDATE conversations SET bot_state = 'bot', muted_until = NULL, updated_at = ?,
       history_since = CASE WHEN ? THEN ? ELSE history_since END
     WHERE id = ?`,
  ).run(at, options.restartHistory ? 1 : 0, at, conversationId);
}

/**
 * The conversation was resolved (Crisp `session:set_state` resolved): the bot may speak again with
 * a fresh history, and the resolution is recorded for the analytics (auto-resolved, reopened).
 */
export function resolveConversation(db: Database, conversationId: string, now: Date) {
  db.transaction(() => {
    unmute(db, conversationId, { restartHistory: true }, now);
    // Once per resolution: a redelivered resolve (nothing said since the last one) adds no row,
    // which would move the span the analytics' autoResolved looks at.
    db.query(
      `INSERT INTO conversation_resolutions (conversation_id, resolved_at)
       SELECT ?1, ?2 WHERE NOT EXISTS (
         SELECT 1 FROM conversation_resolutions r WHERE r.conversation_id = ?1
           AND r.resolved_at >= COALESCE(
             (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = ?1), ''))`,
    ).run(conversationId, now.toISOString());
  })();
}
