// Conversations over SQLite: get-or-create, append messages, history for the prompt, reads.
import type { Database } from 'bun:sqlite';
import { estimateTokens } from '../llm/types.ts';
import type {
  Channel,
  Conversation,
  ConversationWithMessages,
  HandoffReason,
  Message,
  MessageRole,
} from './model.ts';

type ConversationRow = {
  id: string;
  chatbot_id: string;
  channel: Channel;
  external_id: string;
  website_id: string | null;
  bot_state: 'bot' | 'human';
  muted_until: string | null;
  history_since: string;
  created_at: string;
  updated_at: string;
};

type MessageRow = {
  id: string;
  conversation_id: string;
  seq: number;
  role: MessageRole;
  content: string;
  fingerprint: string | null;
  handoff_reason: HandoffReason | null;
  provenance: string | null;
  created_at: string;
};

const newId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll('-', '')}`;

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    chatbotId: row.chatbot_id,
    channel: row.channel,
    externalId: row.external_id,
    websiteId: row.website_id,
    botState: row.bot_state,
    mutedUntil: row.muted_until,
    historySince: row.history_since,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    role: row.role,
    content: row.content,
    fingerprint: row.fingerprint,
    handoffReason: row.handoff_reason,
    provenance: row.provenance ? (JSON.parse(row.provenance) as Record<string, unknown>) : null,
    createdAt: row.created_at,
  };
}

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
  now = new Date(),
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

export function findConversation(db: Database, id: string): Conversation | undefined {
  const row = db
    .query<ConversationRow, [string]>('SELECT * FROM conversations WHERE id = ?')
    .get(id);
  return row ? toConversation(row) : undefined;
}

export function findConversationByExternalId(
  db: Database,
  chatbotId: string,
  channel: Channel,
  externalId: string,
): Conversation | undefined {
  const row = db
    .query<ConversationRow, [string, string, string]>(
      'SELECT * FROM conversations WHERE chatbot_id = ? AND channel = ? AND external_id = ?',
    )
    .get(chatbotId, channel, externalId);
  return row ? toConversation(row) : undefined;
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
  now = new Date(),
): Message {
  const at = now.toISOString();
  const id = newId('msg');
  db.transaction(() => {
    db.query(
      `INSERT INTO messages
         (id, conversation_id, seq, role, content, fingerprint, handoff_reason, provenance, created_at)
       VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?),
               ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      conversationId,
      conversationId,
      message.role,
      message.content,
      message.fingerprint == null ? null : String(message.fingerprint),
      message.handoffReason ?? null,
      message.provenance ? JSON.stringify(message.provenance) : null,
      at,
    );
    db.query('UPDATE conversations SET updated_at = ? WHERE id = ?').run(at, conversationId);
  })();
  const row = db.query<MessageRow, [string]>('SELECT * FROM messages WHERE id = ?').get(id);
  return toMessage(row as MessageRow);
}

/** Records the fingerprint Crisp gave a message we posted (our-echo recognition). */
export function setMessageFingerprint(
  db: Database,
  messageId: string,
  fingerprint: string | number,
): void {
  db.query('UPDATE messages SET fingerprint = ? WHERE id = ?').run(String(fingerprint), messageId);
}

export type HistoryTurn = { role: MessageRole; content: string };

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
    .query<MessageRow, [string, string, number]>(
      `SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id
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
    .query<MessageRow, [string]>('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq')
    .all(id)
    .map(toMessage);
  return { ...conversation, messages };
}

/** A chatbot's conversations, most recently active first. */
export function listConversations(
  db: Database,
  chatbotId: string,
  options: { limit?: number } = {},
): Conversation[] {
  return db
    .query<ConversationRow, [string, number]>(
      'SELECT * FROM conversations WHERE chatbot_id = ? ORDER BY updated_at DESC, id LIMIT ?',
    )
    .all(chatbotId, options.limit ?? 100)
    .map(toConversation);
}
