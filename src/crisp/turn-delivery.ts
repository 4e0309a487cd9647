// Delivery of a turn's posts: each intent is posted once, in order, never over a human. A post
// whose outcome we did not see is reconciled against Crisp instead of being posted again.
import type { Database } from 'bun:sqlite';
import type { Clock } from '../clock.ts';
import { isMuted, setMessageFingerprint } from '../conversations/service.ts';
import type { Metrics } from '../http/metrics.ts';
import { isScheduled } from '../jobs/schedule.ts';
import type { Logger } from '../logging.ts';
import type { CrispClient, CrispError, CrispMessage, CrispOutgoingMessage } from './client.ts';
import type { Connection, ConnectionStore } from './connections.ts';
import {
  type Intent,
  intentsOf,
  markInFlight,
  markNotPosted,
  recordSent,
  type Session,
  sentFingerprints,
  skipVisitorFacing,
  type Turn,
  visitorSawPost,
} from './turn-store.ts';
import { graceKeyOf, TYPING } from './webhook.ts';

export type DeliveryDeps = {
  db: Database;
  log: Logger;
  metrics: Metrics;
  client: CrispClient;
  connections: ConnectionStore;
  clock: Clock;
};

/** How far around the post a reconciliation looks for our message (clock skew with Crisp). */
const RECONCILE_SKEW_MS = 10 * 60_000;
/** Crisp's message list pages hold 40 messages, oldest first (docs/notes/crisp.md, F16). */
const CRISP_PAGE_SIZE = 40;
/** Pages read back at most (400 messages since the post) before taking it as not posted. */
const RECONCILE_PAGES_MAX = 10;
/** A second look this long after the first before a post counts as missing (cached GETs). */
const RECONCILE_REREAD_MS = 1_000;
/** How long to leave Crisp alone after it refused for quota or rate without a Retry-After. */
const REFUSED_WAIT_MS = 60_000;
/** A Retry-After longer than this is not believed beyond it (the turns look again then). */
const REFUSED_WAIT_MAX_MS = 60 * 60_000;

/** Crisp failures the turn does not handle itself: the job retries or fails with the reason. */
export class CrispFailure extends Error {
  constructor(readonly error: CrispError) {
    super(error.message);
  }
}

/**
 * Crisp refused for quota or rate: the connection is marked (unhealthy, with the reason) and no
 * turn calls Crisp before the returned time (Retry-After, else a minute, as Crisp's own import
 * tool waits).
 */
export function throttle(deps: DeliveryDeps, chatbotId: string, error: CrispError): number {
  const now = deps.clock.now();
  const until = now + Math.min(error.retryAfterMs ?? REFUSED_WAIT_MS, REFUSED_WAIT_MAX_MS);
  deps.connections.throttle(chatbotId, error, until, new Date(now));
  return until;
}

/**
 * Compose is a courtesy, and the first thing dropped under Crisp's quota: it is not sent while
 * the connection has not been accepted since a refusal (`throttledUntil` set). A refusal throws
 * for `start` (the turn waits instead of calling the LLM), as does a broken connection; other
 * failures are logged. `stop` never throws.
 */
export async function composeBestEffort(
  deps: DeliveryDeps,
  connection: Connection,
  sessionId: string,
  type: 'start' | 'stop',
): Promise<void> {
  if (deps.connections.throttledUntil(connection.chatbotId) !== null) return;
  const res = await deps.client.compose(connection.credentials, sessionId, type);
  if (res.ok) {
    deps.connections.recordOk(connection.chatbotId, new Date(deps.clock.now()));
    return;
  }
  if (res.error.kind === 'rate_limited' && type === 'stop') {
    throttle(deps, connection.chatbotId, res.error);
    return;
  }
  if (type === 'start' && (res.error.unhealthy || res.error.kind === 'rate_limited')) {
    throw new CrispFailure(res.error);
  }
  deps.log.debug({ kind: res.error.kind, type }, 'crisp compose failed (ignored)');
}

/** An operator is typing: the turn's visitor-facing posts wait for the typing grace. */
export function typingNow(db: Database, session: Session, signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  if (signal.aborted && reason instanceof Error && reason.message === TYPING) return true;
  return isScheduled(db, graceKeyOf(session));
}

/**
 * Posts every intent of the turn not sent yet, in order, with the handoff's state change before
 * its note. `disconnected`: the connection went away (nothing more was posted); `typing`: an
 * operator is typing and the visitor saw nothing of this turn yet (the caller releases it);
 * `dropped`: a human took over, so the visitor-facing posts left were skipped; `seen`: a
 * visitor-facing post of this turn is in Crisp.
 */
export async function deliver(
  deps: DeliveryDeps,
  connection: Connection,
  turn: Turn,
  signal: AbortSignal,
): Promise<'disconnected' | 'typing' | { dropped: boolean; seen: boolean }> {
  const db = deps.db;
  let dropped = false;
  // Re-checked right before each visitor-facing POST (after any reconciliation read, which waits
  // on the network): an operator may have replied or started typing meanwhile. Never talk over a
  // human.
  const muted = () => isMuted(db, turn.conversationId, new Date(deps.clock.now()));
  const humanActive = () => signal.aborted || muted() || isScheduled(db, graceKeyOf(turn));
  // Only typing, and the visitor saw nothing of this turn: it can start over after the grace.
  const heldForTyping = () =>
    typingNow(db, turn, signal) && !visitorSawPost(db, turn.jobId) && !muted();
  const skip = () => {
    skipVisitorFacing(db, turn.jobId);
    dropped = true;
  };
  for (const intent of intentsOf(db, turn.jobId)) {
    if (intent.state !== 'intent') continue;
    // Disconnected, or the chatbot deleted, while this turn ran: post nothing more.
    if (!deps.connections.isConnected(turn.chatbotId, turn.websiteId)) return 'disconnected';
    const visitorFacing = intent.kind !== 'note';
    if (visitorFacing && humanActive()) {
      if (heldForTyping()) return 'typing';
      skip();
      continue;
    }
    if (intent.kind === 'note' && turn.answer?.handoff) {
      // Between the visitor's handoff text and the note: the conversation goes to the inbox.
      const state = await deps.client.setState(
        connection.credentials,
        turn.sessionId,
        'unresolved',
      );
      if (!state.ok) {
        if (state.error.retryable || state.error.unhealthy) throw new CrispFailure(state.error);
        deps.log.warn({ kind: state.error.kind }, 'crisp state change failed (ignored)');
      }
    }
    const posted = await postOnce(deps, connection, turn, intent, () =>
      visitorFacing ? humanActive() : false,
    );
    if (!posted) {
      if (heldForTyping()) return 'typing';
      skip();
    }
  }
  return { dropped, seen: visitorSawPost(db, turn.jobId) };
}

/** Does a message in Crisp look like the one this intent meant to post? */
function matches(message: CrispMessage, body: CrispOutgoingMessage, notBefore: number): boolean {
  return (
    message.from === 'operator' &&
    message.type === body.type &&
    message.content === body.content &&
    (message.timestamp === undefined || message.timestamp >= notBefore)
  );
}

/**
 * Our message for this intent, if Crisp has it. Crisp's list is paged (40 a page, oldest first)
 * and its GETs may come from a cache: the pages from the read time back to the intent's time
 * (minus the clock skew) are read with `timestamp_before`, a fresh value each read (another cache
 * key), and read again `RECONCILE_REREAD_MS` later before the post counts as missing.
 */
async function findPosted(
  deps: DeliveryDeps,
  connection: Connection,
  turn: Turn,
  intent: Intent,
): Promise<CrispMessage | null> {
  const notBefore = intent.createdAt - RECONCILE_SKEW_MS;
  const ours = sentFingerprints(deps.db, turn.websiteId, turn.sessionId);
  const look = async (): Promise<CrispMessage | null> => {
    let before = deps.clock.now() + RECONCILE_SKEW_MS;
    for (let page = 0; page < RECONCILE_PAGES_MAX; page++) {
      const listed = await deps.client.listMessages(connection.credentials, turn.sessionId, {
        timestampBefore: before,
      });
      if (!listed.ok) throw new CrispFailure(listed.error);
      const found = listed.value.find(
        (m) =>
          matches(m, intent.body, notBefore) &&
          m.fingerprint !== undefined &&
          !ours.has(String(m.fingerprint)),
      );
      if (found) return found;
      const oldest = listed.value[0]?.timestamp;
      if (listed.value.length < CRISP_PAGE_SIZE || oldest === undefined || oldest < notBefore) {
        return null;
      }
      before = oldest;
    }
    deps.log.warn({ pages: RECONCILE_PAGES_MAX }, 'crisp reconciliation stopped paging');
    return null;
  };
  const first = await look();
  if (first) return first;
  await Bun.sleep(RECONCILE_REREAD_MS);
  return look();
}

/**
 * Posts one intent exactly once. The intent is marked uncertain before the POST goes out; if the
 * process dies (or Crisp fails ambiguously) before the answer is recorded, the next attempt reads
 * the conversation back from Crisp and adopts our message if it is there. `hold()` is asked right
 * before the POST: true → nothing is posted and false is returned.
 */
async function postOnce(
  deps: DeliveryDeps,
  connection: Connection,
  turn: Turn,
  intent: Intent,
  hold: () => boolean,
): Promise<boolean> {
  if (intent.uncertain) {
    const found = await findPosted(deps, connection, turn, intent);
    if (found) {
      deps.metrics.inc(
        'answerdesk_crisp_reconciled_total',
        'Posts found already in Crisp after a restart.',
      );
      settle(deps, turn, intent, String(found.fingerprint));
      return true;
    }
  }
  // No await between this check and the intent being marked in flight.
  if (hold()) return false;
  markInFlight(deps.db, intent.id);
  const sent = await deps.client.sendMessage(connection.credentials, turn.sessionId, intent.body);
  if (!sent.ok) {
    // A clear refusal (429, 4xx) means nothing was posted: the retry may post without reading back.
    if (!sent.error.uncertain) markNotPosted(deps.db, intent.id);
    throw new CrispFailure(sent.error);
  }
  deps.connections.recordOk(connection.chatbotId, new Date(deps.clock.now()));
  settle(deps, turn, intent, sent.value.fingerprint);
  return true;
}

/** The intent is sent: its fingerprint recorded with it and, for the reply, on the bot message. */
function settle(deps: DeliveryDeps, turn: Turn, intent: Intent, fingerprint: string | null): void {
  const botMessageId = turn.answer?.botMessageId;
  deps.db.transaction(() => {
    recordSent(deps.db, turn, intent, fingerprint, deps.clock.now());
    if (fingerprint !== null && intent.kind !== 'note' && botMessageId) {
      setMessageFingerprint(deps.db, botMessageId, fingerprint);
    }
  })();
  deps.metrics.inc('answerdesk_crisp_posts_total', 'Messages posted to Crisp by kind.', {
    kind: intent.kind,
  });
}
