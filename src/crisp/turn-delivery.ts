// Delivery of a turn's posts: each intent is posted once, in order, never over a human. A post
// whose outcome we did not see is reconciled against Crisp instead of being posted again.
import type { Database } from 'bun:sqlite';
import type { Clock } from '../clock.ts';
import { isMuted, setMessageFingerprint } from '../conversations/service.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../logging.ts';
import type { CrispClient, CrispError, CrispMessage, CrispOutgoingMessage } from './client.ts';
import type { Connection, ConnectionStore } from './connections.ts';
import {
  type Intent,
  intentsOf,
  markInFlight,
  markNotPosted,
  recordSent,
  sentFingerprints,
  skipVisitorFacing,
  type Turn,
} from './turn-store.ts';

export type DeliveryDeps = {
  db: Database;
  log: Logger;
  metrics: Metrics;
  client: CrispClient;
  connections: ConnectionStore;
  clock: Clock;
};

/** How far back a reconciliation looks for our message (clock skew between us and Crisp). */
const RECONCILE_SKEW_MS = 10 * 60_000;

/** Crisp failures the turn does not handle itself: the job retries or fails with the reason. */
export class CrispFailure extends Error {
  constructor(readonly error: CrispError) {
    super(error.message);
  }
}

/** Compose is a courtesy: a failure is logged, except a broken connection, which stops the turn. */
export async function composeBestEffort(
  deps: DeliveryDeps,
  connection: Connection,
  sessionId: string,
  type: 'start' | 'stop',
): Promise<void> {
  const res = await deps.client.compose(connection.credentials, sessionId, type);
  if (res.ok) {
    deps.connections.recordOk(connection.chatbotId, new Date(deps.clock.now()));
    return;
  }
  if (res.error.unhealthy) throw new CrispFailure(res.error);
  deps.log.debug({ kind: res.error.kind, type }, 'crisp compose failed (ignored)');
}

/**
 * Posts every intent of the turn not sent yet, in order, with the handoff's state change before
 * its note. `disconnected`: the connection went away (nothing more was posted); `dropped`: a
 * human took over, so the visitor-facing posts left were skipped.
 */
export async function deliver(
  deps: DeliveryDeps,
  connection: Connection,
  turn: Turn,
  signal: AbortSignal,
): Promise<'disconnected' | { dropped: boolean }> {
  const db = deps.db;
  let dropped = false;
  // Re-checked right before each visitor-facing POST (after any reconciliation read, which waits
  // on the network): an operator may have replied or started typing meanwhile. Never talk over a
  // human.
  const humanActive = () =>
    signal.aborted || isMuted(db, turn.conversationId, new Date(deps.clock.now()));
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
    if (!posted) skip();
  }
  return { dropped };
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
    const listed = await deps.client.listMessages(connection.credentials, turn.sessionId);
    if (!listed.ok) throw new CrispFailure(listed.error);
    const ours = sentFingerprints(deps.db, turn.websiteId, turn.sessionId);
    const found = listed.value.find(
      (m) =>
        matches(m, intent.body, intent.createdAt - RECONCILE_SKEW_MS) &&
        m.fingerprint !== undefined &&
        !ours.has(String(m.fingerprint)),
    );
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
