// The webhook after authentication: parse, filter, deduplicate and commit, all before the 200.
//
// Nothing here waits on the network: a visitor message becomes an inbox row plus a durable job in
// one SQLite transaction; operator signals (a reply, typing, routing, resolve) are applied as
// SQLite writes right here, so a reply about to be posted sees them.
import type { Database } from 'bun:sqlite';
import * as v from 'valibot';
import type { Chatbot } from '../chatbots/model.ts';
import type { Clock } from '../clock.ts';
import { appendMessage } from '../conversations/service.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Worker } from '../jobs/worker.ts';
import type { Logger } from '../logging.ts';
import { crispConversation, hoursFrom, mute, unmute } from './bot-state.ts';
import type { Connection } from './connections.ts';
import {
  ComposeData,
  type Envelope,
  MessageData,
  type ReplyJobPayload,
  SetRoutingData,
  SetStateData,
} from './model.ts';

export const REPLY_JOB = 'crisp.reply';

/** Jobs of one conversation share this key: they run one at a time, in order. */
export const serialKeyOf = (chatbotId: string, sessionId: string) =>
  `crisp:${chatbotId}:${sessionId}`;

export type WebhookDeps = {
  db: Database;
  worker: Worker;
  metrics: Metrics;
  log: Logger;
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
 * Our own message coming back as `message:received`: first by the fingerprint Crisp returned
 * when we posted it, then a post still in flight with the same content (the echo can beat
 * Crisp's answer to our POST), then `automated: true`, then the bot's nickname.
 */
function isOwnEcho(
  db: Database,
  chatbot: Chatbot,
  websiteId: string,
  data: v.InferOutput<typeof MessageData>,
  now: number,
): boolean {
  const fingerprint = fingerprintOf(data.fingerprint);
  if (
    db
      .query('SELECT 1 FROM crisp_sent WHERE website_id = ? AND session_id = ? AND fingerprint = ?')
      .get(websiteId, data.session_id, fingerprint)
  ) {
    return true;
  }
  if (
    typeof data.content === 'string' &&
    db
      .query(
        `SELECT 1 FROM crisp_outbox WHERE website_id = ? AND session_id = ? AND state != 'skipped'
           AND (fingerprint IS NULL OR fingerprint = ?) AND json_extract(body, '$.content') = ?
           AND created_at > ?
         LIMIT 1`,
      )
      .get(websiteId, data.session_id, fingerprint, data.content, now - IN_FLIGHT_ECHO_MS)
  ) {
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
  switch (envelope.event) {
    case 'message:send':
      return visitorMessage(deps, chatbot, websiteId, parse(MessageData, envelope.data), now);
    case 'message:received':
      return operatorMessage(deps, chatbot, websiteId, parse(MessageData, envelope.data), now);
    case 'message:compose:receive':
      return operatorTyping(deps, chatbot, parse(ComposeData, envelope.data));
    case 'session:set_state': {
      const data = parse(SetStateData, envelope.data);
      if (data.state !== 'resolved') return 'ignored';
      const conversation = crispConversation(deps.db, chatbot.id, websiteId, data.session_id);
      unmute(deps.db, conversation.id, { restartHistory: true }, new Date(now));
      return 'resumed';
    }
    case 'session:set_routing': {
      const data = parse(SetRoutingData, envelope.data);
      if (!data.routing_id) return 'ignored';
      humanTookOver(deps, chatbot, websiteId, data.session_id, now, 'assigned to an operator');
      return 'muted';
    }
    default:
      return 'ignored';
  }
}

/**
 * Records a message event once (keyed as Crisp identifies a message); false when it was already
 * there (a redelivery). A visitor message waits (`pending`) for its turn; an operator's is history.
 */
function recordInbox(
  db: Database,
  chatbotId: string,
  websiteId: string,
  sessionId: string,
  fingerprint: string,
  message: { author: 'visitor' | 'operator'; content: string; now: number },
): boolean {
  const visitor = message.author === 'visitor';
  return (
    db
      .query(
        `INSERT INTO crisp_inbox (website_id, session_id, fingerprint, chatbot_id, event, author,
           content, state, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      )
      .run(
        websiteId,
        sessionId,
        fingerprint,
        chatbotId,
        visitor ? 'message:send' : 'message:received',
        message.author,
        message.content,
        visitor ? 'pending' : 'recorded',
        message.now,
      ).changes > 0
  );
}

function visitorMessage(
  deps: WebhookDeps,
  chatbot: Chatbot,
  websiteId: string,
  data: v.InferOutput<typeof MessageData>,
  now: number,
): WebhookAction {
  if (data.from !== 'user') return 'ignored';
  const content = data.content;
  if (data.type !== 'text' || typeof content !== 'string' || content.trim() === '') {
    return 'ignored';
  }
  if (!chatbot.channels.includes(data.origin ?? 'chat')) return 'ignored';
  const fingerprint = fingerprintOf(data.fingerprint);
  return deps.db.transaction((): WebhookAction => {
    const inserted = recordInbox(deps.db, chatbot.id, websiteId, data.session_id, fingerprint, {
      author: 'visitor',
      content,
      now,
    });
    if (!inserted) return 'duplicate';
    // The turn runs once the burst window has passed and answers every message still waiting
    // in this conversation; the jobs of later messages of the same burst find nothing left.
    const payload: ReplyJobPayload = {
      chatbotId: chatbot.id,
      websiteId,
      sessionId: data.session_id,
    };
    const job = deps.worker.enqueue(REPLY_JOB, payload, {
      chatbotId: chatbot.id,
      dedupeKey: `crisp:${websiteId}:${data.session_id}:${fingerprint}`,
      serialKey: serialKeyOf(chatbot.id, data.session_id),
      runAt: now + deps.burstWindowMs,
    });
    return job.duplicate ? 'duplicate' : 'queued';
  })();
}

function operatorMessage(
  deps: WebhookDeps,
  chatbot: Chatbot,
  websiteId: string,
  data: v.InferOutput<typeof MessageData>,
  now: number,
): WebhookAction {
  if (data.from !== 'operator') return 'ignored';
  if (isOwnEcho(deps.db, chatbot, websiteId, data, now)) return 'own_echo';
  // A private note talks to the team, not the visitor: it does not take the conversation over.
  if (data.type === 'note') return 'ignored';
  const fingerprint = fingerprintOf(data.fingerprint);
  const recorded = deps.db.transaction((): boolean => {
    const inserted = recordInbox(deps.db, chatbot.id, websiteId, data.session_id, fingerprint, {
      author: 'operator',
      content: contentText(data.type, data.content),
      now,
    });
    if (!inserted) return false;
    const conversation = crispConversation(deps.db, chatbot.id, websiteId, data.session_id);
    mute(
      deps.db,
      conversation.id,
      hoursFrom(new Date(now), chatbot.handoff.muteHours),
      new Date(now),
    );
    appendMessage(
      deps.db,
      conversation.id,
      { role: 'operator', content: contentText(data.type, data.content), fingerprint },
      new Date(now),
    );
    return true;
  })();
  if (!recorded) return 'duplicate';
  deps.worker.abortRunning(serialKeyOf(chatbot.id, data.session_id), 'a human operator replied');
  return 'muted';
}

function operatorTyping(
  deps: WebhookDeps,
  chatbot: Chatbot,
  data: v.InferOutput<typeof ComposeData>,
): WebhookAction {
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

function humanTookOver(
  deps: WebhookDeps,
  chatbot: Chatbot,
  websiteId: string,
  sessionId: string,
  now: number,
  reason: string,
): void {
  const conversation = crispConversation(deps.db, chatbot.id, websiteId, sessionId);
  mute(
    deps.db,
    conversation.id,
    hoursFrom(new Date(now), chatbot.handoff.muteHours),
    new Date(now),
  );
  deps.worker.abortRunning(serialKeyOf(chatbot.id, sessionId), reason);
}
