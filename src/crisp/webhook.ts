// The webhook after authentication: parse, filter, deduplicate and commit, all before the 200.
//
// Nothing here waits on the network: a visitor message becomes an inbox row plus a durable job in
// one SQLite transaction; operator signals (a reply, typing, routing, resolve) are applied as
// SQLite writes right here, so a reply about to be posted sees them.
import type { Database } from 'bun:sqlite';
import * as v from 'valibot';
import type { Chatbot } from '../chatbots/model.ts';
import type { Clock } from '../clock.ts';
import {
  appendMessage,
  crispConversation,
  hoursFrom,
  mute,
  resolveConversation,
} from '../conversations/service.ts';
import type { Worker } from '../jobs/worker.ts';
import type { Connection } from './connections.ts';
import {
  ComposeData,
  type Envelope,
  MessageData,
  type ReplyJobPayload,
  SetRoutingData,
  SetStateData,
} from './model.ts';
import { isOurPost, recordInbox, type Session } from './turn-store.ts';

export const REPLY_JOB = 'crisp.reply';

/** Jobs of one conversation share this key: they run one at a time, in order. */
export const serialKeyOf = (chatbotId: string, sessionId: string) =>
  `crisp:${chatbotId}:${sessionId}`;

export type WebhookDeps = {
  db: Database;
  worker: Worker;
  burstWindowMs: number;
  clock: Clock;
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
  | 'website_mismatch';

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
 * answer to our POST), then `automated: true`, then the bot's nickname.
 */
function isOwnEcho(
  db: Database,
  chatbot: Chatbot,
  session: Session,
  data: MessageData,
  now: number,
) {
  const message = { fingerprint: fingerprintOf(data.fingerprint), content: data.content };
  if (isOurPost(db, session.websiteId, session.sessionId, message, now - IN_FLIGHT_ECHO_MS)) {
    return true;
  }
  if (data.automated === true) return true;
  return !!data.user?.nickname && data.user.nickname === chatbot.persona.nickname;
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
): WebhookAction {
  const websiteId = connection.websiteId;
  const dataWebsite = (envelope.data as { website_id?: unknown }).website_id;
  if (
    envelope.website_id !== websiteId ||
    (typeof dataWebsite === 'string' && dataWebsite !== websiteId)
  ) {
    return 'website_mismatch';
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
        : operatorMessage(deps, event);
    }
    case 'message:compose:receive':
      return operatorTyping(deps, chatbot, parse(ComposeData, envelope.data));
    case 'session:set_state': {
      const data = parse(SetStateData, envelope.data);
      if (data.state !== 'resolved') return 'ignored';
      const conversation = crispConversation(deps.db, sessionOf(data), new Date(now));
      resolveConversation(deps.db, conversation.id, new Date(now));
      return 'resumed';
    }
    case 'session:set_routing': {
      const data = parse(SetRoutingData, envelope.data);
      if (!data.routing_id) return 'ignored';
      humanTookOver(deps, chatbot, sessionOf(data), now);
      deps.worker.abortRunning(serialKeyOf(chatbot.id, data.session_id), 'assigned to an operator');
      return 'muted';
    }
    default:
      return 'ignored';
  }
}

/** A message event of one conversation, as received. */
type MessageEvent = { chatbot: Chatbot; session: Session; data: MessageData; now: number };

function visitorMessage(deps: WebhookDeps, event: MessageEvent): WebhookAction {
  const { chatbot, session, data, now } = event;
  if (data.from !== 'user') return 'ignored';
  const content = data.content;
  if (data.type !== 'text' || typeof content !== 'string' || content.trim() === '') {
    return 'ignored';
  }
  if (!chatbot.channels.includes(data.origin ?? 'chat')) return 'ignored';
  const fingerprint = fingerprintOf(data.fingerprint);
  return deps.db.transaction((): WebhookAction => {
    const message = { author: 'visitor' as const, content, now };
    if (!recordInbox(deps.db, session, fingerprint, message)) return 'duplicate';
    // The turn runs once the burst window has passed and answers every message still waiting
    // in this conversation; the jobs of later messages of the same burst find nothing left.
    const payload: ReplyJobPayload = session;
    const job = deps.worker.enqueue(REPLY_JOB, payload, {
      chatbotId: chatbot.id,
      dedupeKey: `crisp:${session.websiteId}:${session.sessionId}:${fingerprint}`,
      serialKey: serialKeyOf(chatbot.id, session.sessionId),
      runAt: now + deps.burstWindowMs,
    });
    return job.duplicate ? 'duplicate' : 'queued';
  })();
}

function operatorMessage(deps: WebhookDeps, event: MessageEvent): WebhookAction {
  const { chatbot, session, data, now } = event;
  if (data.from !== 'operator') return 'ignored';
  if (isOwnEcho(deps.db, chatbot, session, data, now)) return 'own_echo';
  // A private note talks to the team, not the visitor: it does not take the conversation over.
  if (data.type === 'note') return 'ignored';
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
  if (!recorded) return 'duplicate';
  deps.worker.abortRunning(serialKeyOf(chatbot.id, session.sessionId), 'a human operator replied');
  return 'muted';
}

function operatorTyping(deps: WebhookDeps, chatbot: Chatbot, data: ComposeData): WebhookAction {
  // Only a person typing counts: our own compose "start" may come back too, and it carries no
  // operator identity (or our nickname, or `automated`).
  if (data.type && data.type !== 'start') return 'ignored';
  if (data.automated === true) return 'ignored';
  const user = data.user;
  if (!user || !(user.user_id || user.nickname)) return 'ignored';
  if (user.nickname && user.nickname === chatbot.persona.nickname) return 'ignored';
  const key = serialKeyOf(chatbot.id, data.session_id);
  const aborted = deps.worker.abortRunning(key, 'a human operator is typing');
  // Replies still waiting for their burst window would talk over the operator too. Their
  // messages stay in the inbox: the next turn (history only, if the operator replied) takes them.
  const cancelled = deps.worker.cancelPending(key, 'a human operator is typing');
  return aborted + cancelled > 0 ? 'aborted' : 'ignored';
}

/** A human replied or was assigned: the bot is muted for the chatbot's `muteHours`. */
function humanTookOver(deps: WebhookDeps, chatbot: Chatbot, session: Session, now: number) {
  const at = new Date(now);
  const conversation = crispConversation(deps.db, session, at);
  mute(deps.db, conversation.id, hoursFrom(at, chatbot.handoff.muteHours), at);
  return conversation;
}
