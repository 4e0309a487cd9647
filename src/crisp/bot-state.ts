// Who owns a Crisp conversation: the bot, or a human until a given time (mutes, resolve, pause).
import type { Database } from 'bun:sqlite';
import type { Conversation } from '../conversations/model.ts';
import { findConversation, getOrCreateConversation } from '../conversations/service.ts';

/** The state the admin API shows: `human` until `until` (null = until resumed or resolved). */
export type BotState = { state: 'bot' | 'human'; until: string | null };

/** Expired mutes read as `bot` without a write. */
export function botStateOf(conversation: Conversation, now = new Date()): BotState {
  if (conversation.botState !== 'human') return { state: 'bot', until: null };
  if (conversation.mutedUntil !== null && conversation.mutedUntil <= now.toISOString()) {
    return { state: 'bot', until: null };
  }
  return { state: 'human', until: conversation.mutedUntil };
}

/** True while a human owns the conversation (the bot must not speak). */
export function isMuted(db: Database, conversationId: string, now = new Date()): boolean {
  const conversation = findConversation(db, conversationId);
  return conversation !== undefined && botStateOf(conversation, now).state === 'human';
}

export function crispConversation(
  db: Database,
  chatbotId: string,
  websiteId: string,
  sessionId: string,
): Conversation {
  return getOrCreateConversation(db, {
    chatbotId,
    channel: 'crisp',
    externalId: sessionId,
    websiteId,
  });
}

/**
 * Hands the conversation to a human until `until` (null = indefinitely). A mute only ever gets
 * longer: an operator's message extends it, but never shortens an admin's open-ended pause.
 */
export function mute(db: Database, conversationId: string, until: Date | null, now = new Date()) {
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
  now = new Date(),
) {
  const at = now.toISOString();
  db.query(
    `UPDATE conversations SET bot_state = 'bot', muted_until = NULL, updated_at = ?,
       history_since = CASE WHEN ? THEN ? ELSE history_since END
     WHERE id = ?`,
  ).run(at, options.restartHistory ? 1 : 0, at, conversationId);
}

/** Hours → a Date that many hours after `now`. */
export const hoursFrom = (now: Date, hours: number) => new Date(now.getTime() + hours * 3_600_000);
