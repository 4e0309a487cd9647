// The webhook after authentication: parse, filter, deduplicate and commit, all before the 200.
//
// Nothing here waits on the network: a visitor message becomes an inbox row plus a durable job in
// one SQLite transaction; operator signals (a reply, typing, routing, resolve) are applied as
// SQLite writes right here, so a reply about to be posted sees them. What Crisp really sends, and
// what of it is not a person (assignment, system messages, our own echoes): docs/notes/crisp.md.
import type { Database } from 'bun:sqlite';
import * as v from 'valibot';
import type { Chatbot } from '../chatbots/model.ts';
import type { Clock } from '../clock.ts';
import {
  appendMessage,
  crispConversation,
  findConversationByExternalId,
  hoursFrom,
  mute,
  resolveConversation,
} from '../conversations/service.ts';
import { rescheduleJob } from '../jobs/schedule.ts';
import type { Worker } from '../jobs/worker.ts';
import type { Connection, ConnectionStore } from './connections.ts';
import {
  ComposeData,
  type Envelope,
  MessageData,
  type ReplyJobPayload,
  SetRoutingData,
  SetStateData,
} from './model.ts';
import { hasWaitingMessages, isOurPost, recordInbox, type Session } from './turn-store.ts';

export const REPLY_JOB = 'crisp.reply';

/** Jobs of one conversation share this key: they run one at a time, in order. */
export const serialKeyOf = (chatbotId: string, sessionId: string) =>
  `crisp:${chatbotId}:${sessionId}`;

/** The abort reason of a turn stopped by an operator typing (its messages wait for the grace). */
export const TYPING = 'a human operator is typing';

/** The one pending "typing grace" job of a conversation (moved by each typing event). */
export const graceKeyOf = (session: Session) =>
  `crisp:typing:${session.chatbotId}:${session.websiteId}:${session.sessionId}`;

export type WebhookDeps = {
  db: Database;
  worker: Worker;
  burstWindowMs: number;
  clock: Clock;
  connections: Pick<ConnectionStore, 'learnOwnUserId'>;
};

/** What the webhook did with a delivery (the 200 body, and a metric label). */
export type WebhookAction =
  | 'queued'
  | 'duplicate'
  | 'ignored'
  | 'own_echo'
  | 'muted'
  | 'aborted'
  | 'resumed'
  | 'website_mismatch'
  | 'rejected';

/** What the webhook did, and why when it ignored the delivery (the delivery log's fields). */
export type Handled = { action: WebhookAction; reason: string | null };

const did = (action: WebhookAction, reason: string | null = null): Handled => ({ action, reason });
const ignored = (reason: string) => did('ignored', reason);

/**
 * Message types an operator's message may have and still be a person writing to the visitor.
 * `note` is private to the team and `event` is a system message (docs/notes/crisp.md, F7):
 * neither, nor a type Crisp adds later, is a human reply.
 */
const HUMAN_REPLY_TYPES = new Set([
  'text',
  'file',
  'animation',
  'audio',
  'carousel',
  'picker',
  'field',
]);

export class MalformedEvent extends Error {
  override name = 'MalformedEvent';
}

function parse<T extends v.GenericSchema>(schema: T, data: unknown): v.InferOutput<T> {
  const result = v.safeParse(schema, data);
  if (!result.success) throw new MalformedEvent('event data does not match its schema');
  return result.output;
}

const fingerprintOf = (fp: number | string) => String(fp);

/** How long a post still waiting for Crisp's answer may explain an echo by its content. */
const IN_FLIGHT_ECHO_MS = 10 * 60_000;

/** A short form of non-text content for the history ("[file]", "[picker] text"). */
function contentText(type: string, content: unknown): string {
  if (typeof content === 'string') return content;
  if (content && typeof content === 'object' && 'text' in content) {
    const text = (content as { text?: unknown }).text;
    if (typeof text === 'string') return `[${type}] ${text}`;
  }
  return `[${type}]`;
}

/**
 * Our own message coming back as `message:received`: first by what we posted (the fingerprint
 * Crisp returned, or a post still in flight with the same content: the echo can beat Crisp's
 * answer to our POST), then `automated: true`, then the bot's nickname. `'ours'` only when the
 * post is ours for certain (its user id is then learnt as our identity).
 */
function ownEcho(
  db: Database,
  chatbot: Chatbot,
  session: Session,
  data: MessageData,
  now: number,
): 'ours' | 'not_a_person' | null {
  const message = { fingerprint: fingerprintOf(data.fingerprint), content: data.content };
  const ours = isOurPost(
    db,
    session.websiteId,
    session.sessionId,
    message,
    now - IN_FLIGHT_ECHO_MS,
  );
  if (ours) return ours === 'fingerprint' ? 'ours' : 'not_a_person';
  if (data.automated === true) return 'not_a_person';
  const nickname = data.user?.nickname;
  return nickname && nickname === chatbot.persona.nickname ? 'not_a_person' : null;
}

/**
 * An operator typing who is not a person, or is us: `automated` (we always send it), the bot's
 * nickname, the user id Crisp gives our own messages, or no operator identity at all.
 */
function notAPersonTyping(chatbot: Chatbot, connection: Connection, data: ComposeData): boolean {
  if (data.automated === true) return true;
  const { user_id: userId, nickname } = data.user ?? {};
  if (!userId && !nickname) return true;
  if (nickname && nickname === chatbot.persona.nickname) return true;
  return !!userId && userId === connection.ownUserId;
}

/**
 * Applies one authenticated, well-formed delivery. Throws `MalformedEvent` (→ 400) when a
 * handled event's data is not what Crisp sends.
 */
export function handleEvent(
  deps: WebhookDeps,
  connection: Connection,
  chatbot: Chatbot,
  envelope: Envelope,
): Handled {
  const websiteId = connection.websiteId;
  const dataWebsite = (envelope.data as { website_id?: unknown }).website_id;
  if (
    envelope.website_id !== websiteId ||
    (typeof dataWebsite === 'string' && dataWebsite !== websiteId)
  ) {
    return did('website_mismatch');
  }
  const now = deps.clock.now();
  const sessionOf = (data: { session_id: string }): Session => ({
    chatbotId: chatbot.id,
    websiteId,
    sessionId: data.session_id,
  });
  switch (envelope.event) {
    case 'message:send':
    case 'message:received': {
      const data = parse(MessageData, envelope.data);
      const event = { chatbot, session: sessionOf(data), data, now };
      return envelope.event === 'message:send'
        ? visitorMessage(deps, event)
        : operatorMessage(deps, connection, event);
    }
    case 'message:compose:receive': {
      const data = parse(ComposeData, envelope.data);
      if (notAPersonTyping(chatbot, connection, data)) return did('own_echo');
      return operatorTyping(deps, chatbot, sessionOf(data), data, now);
    }
    case 'session:set_state': {
      const data = parse(SetStateData, envelope.data);
      if (data.state !== 'resolved') return ignored('not_resolved');
      // A conversation the bot never had stays unknown: resolving it records nothing.
      const conversation = findConversationByExternalId(
        deps.db,
        chatbot.id,
        'crisp',
        data.session_id,
      );
      if (!conversation) return ignored('unknown_session');
      resolveConversation(deps.db, conversation.id, new Date(now));
      return did('resumed');
    }
    case 'session:set_routing': {
      const data = parse(SetRoutingData, envelope.data);
      if (!data.routing_id) return ignored('unassigned');
      // Automatic Operator Routing assigns every new conversation: assignment is not a person.
      if (!chatbot.handoff.muteOnAssign) return ignored('assignment_not_human');
      humanTookOver(deps, chatbot, sessionOf(data), now);
      deps.worker.abortRunning(serialKeyOf(chatbot.id, data.session_id), 'assigned to an operator');
      return did('muted');
    }
    default:
      return ignored('event_not_handled');
  }
}

/** A message event of one conversation, as received. */
type MessageEvent = { chatbot: Chatbot; session: Session; data: MessageData; now: number };

function visitorMessage(deps: WebhookDeps, event: MessageEvent): Handled {
  const { chatbot, session, data, now } = event;
  if (data.from !== 'user') return ignored('not_visitor');
  const content = data.content;
  if (data.type !== 'text' || typeof content !== 'string') return ignored('not_text');
  if (content.trim() === '') return ignored('empty');
  if (!chatbot.channels.includes(data.origin ?? 'chat')) return ignored('origin_not_allowed');
  const fingerprint = fingerprintOf(data.fingerprint);
  return deps.db.transaction((): Handled => {
    const message = { author: 'visitor' as const, content, now };
    if (!recordInbox(deps.db, session, fingerprint, message)) return did('duplicate');
    // The turn runs once the burst window has passed and answers every message still waiting
    // in this conversation; the jobs of later messages of the same burst find nothing left.
    // No dedupe key: the inbox row just inserted is the dedupe (same message key, same
    // transaction, and kept when finished jobs are pruned); a key would cost a random index
    // page per delivery.
    const payload: ReplyJobPayload = session;
    deps.worker.enqueue(REPLY_JOB, payload, {
      chatbotId: chatbot.id,
      serialKey: serialKeyOf(chatbot.id, session.sessionId),
      runAt: now + deps.burstWindowMs,
    });
    return did('queued');
  })();
}

function operatorMessage(deps: WebhookDeps, connection: Connection, event: MessageEvent): Handled {
  const { chatbot, session, data, now } = event;
  if (data.from !== 'operator') return ignored('not_operator');
  // Crisp's own system messages ("conversation assigned", …) are nobody's reply.
  if (data.type === 'event') return ignored('system_message');
  const own = ownEcho(deps.db, chatbot, session, data, now);
  if (own) {
    const userId = data.user?.user_id;
    if (own === 'ours' && userId && userId !== connection.ownUserId) {
      deps.connections.learnOwnUserId(chatbot.id, userId);
    }
    return did('own_echo');
  }
  // A private note talks to the team, not the visitor: it does not take the conversation over.
  if (data.type === 'note') return ignored('note');
  if (!HUMAN_REPLY_TYPES.has(data.type)) return ignored('not_a_reply');
  const fingerprint = fingerprintOf(data.fingerprint);
  const content = contentText(data.type, data.content);
  const recorded = deps.db.transaction((): boolean => {
    if (!recordInbox(deps.db, session, fingerprint, { author: 'operator', content, now })) {
      return false;
    }
    const conversation = humanTookOver(deps, chatbot, session, now);
    appendMessage(
      deps.db,
      conversation.id,
      { role: 'operator', content, fingerprint },
      new Date(now),
    );
    return true;
  })();
  if (!recorded) return did('duplicate');
  deps.worker.abortRunning(serialKeyOf(chatbot.id, session.sessionId), 'a human operator replied');
  return did('muted');
}

/**
 * A person typing: the reply being written stops and its messages wait again. Typing alone never
 * mutes: the conversation's grace job, due `typingGraceSeconds` after this (latest) typing event,
 * answers the waiting messages then, unless a human message muted the bot meanwhile. While it is
 * pending, no other turn of the conversation claims or posts (src/crisp/turn.ts), and visitor
 * messages arriving meanwhile wait behind it (later in the conversation's serial order).
 */
function operatorTyping(
  deps: WebhookDeps,
  chatbot: Chatbot,
  session: Session,
  data: ComposeData,
  now: number,
): Handled {
  const key = serialKeyOf(chatbot.id, session.sessionId);
  const stopped = data.type === 'stop' ? 0 : deps.worker.abortRunning(key, TYPING);
  const waiting = hasWaitingMessages(deps.db, session);
  const payload: ReplyJobPayload = session;
  rescheduleJob(
    deps.db,
    deps.worker,
    REPLY_JOB,
    payload,
    {
      chatbotId: chatbot.id,
      dedupeKey: graceKeyOf(session),
      serialKey: key,
      runAt: now + chatbot.handoff.typingGraceSeconds * 1000,
    },
    now,
  );
  return stopped > 0 || waiting ? did('aborted') : ignored('nothing_to_stop');
}

/** A human replied or was assigned: the bot is muted for the chatbot's `muteHours`. */
function humanTookOver(deps: WebhookDeps, chatbot: Chatbot, session: Session, now: number) {
  const at = new Date(now);
  const conversation = crispConversation(deps.db, session, at);
  mute(deps.db, conversation.id, hoursFrom(at, chatbot.handoff.muteHours), at);
  return conversation;
}
