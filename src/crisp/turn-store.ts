// The reply turn's store: every SQL statement over crisp_inbox, crisp_turns, crisp_outbox and
// crisp_sent (the webhook's inbox writes and echo lookups included). Transactions that span
// these and another feature's tables are opened by the callers.
import type { Database } from 'bun:sqlite';
import type { HandoffReason } from '../conversations/model.ts';
import type { Reservation } from '../quotas/service.ts';
import type { CrispOutgoingMessage } from './client.ts';
import type { PostKind } from './model.ts';
import type { PlannedPost } from './turn-plan.ts';

export type TurnState =
  | 'started'
  | 'answered'
  | 'posted'
  | 'muted'
  | 'aborted'
  | 'dropped'
  | 'failed';

/** What the turn answered: kept, so a resumed job posts it without asking the LLM again. */
export type StoredAnswer = {
  handoff: boolean;
  reason: HandoffReason | null;
  botMessageId: string | null;
};

/** One Crisp conversation, as Crisp names it. */
export type Session = { chatbotId: string; websiteId: string; sessionId: string };

export type Turn = Session & {
  jobId: number;
  conversationId: string;
  /** The waiting visitor messages, joined: what the turn answers. */
  question: string;
  /** The stored visitor message (null for a muted turn, which answers nothing). */
  visitorMessageId: string | null;
  /** The quota reservation the turn holds, so a resumed turn never reserves twice. */
  reservation: Reservation | null;
  /** When the newest of its visitor messages arrived (ms): replies too late are not posted. */
  askedAt: number;
  state: TurnState;
  outcome: string | null;
  answer: StoredAnswer | null;
};

export type Intent = {
  id: number;
  kind: PostKind;
  body: CrispOutgoingMessage;
  state: 'intent' | 'sent' | 'skipped';
  /** The POST may have gone out without us seeing the answer: reconcile before posting. */
  uncertain: boolean;
  createdAt: number;
};

// Rows come back in the shapes above; JSON columns are parsed by the functions that read them.
const TURN = `job_id AS jobId, chatbot_id AS chatbotId, website_id AS websiteId,
  session_id AS sessionId, conversation_id AS conversationId, question,
  visitor_message_id AS visitorMessageId, reservation, state, outcome, answer,
  COALESCE(asked_at, created_at) AS askedAt`;

type TurnRow = Omit<Turn, 'reservation' | 'answer'> & {
  reservation: string | null;
  answer: string | null;
};

const json = <T>(text: string | null) => (text === null ? null : (JSON.parse(text) as T));

// ---------------------------------------------------------------------------------------------
// crisp_inbox

/**
 * Records a message event once (keyed as Crisp identifies a message); false when it was already
 * there (a redelivery). A visitor message waits (`pending`) for its turn; an operator's is history.
 */
export function recordInbox(
  db: Database,
  session: Session,
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
        session.websiteId,
        session.sessionId,
        fingerprint,
        session.chatbotId,
        visitor ? 'message:send' : 'message:received',
        message.author,
        message.content,
        visitor ? 'pending' : 'recorded',
        message.now,
      ).changes > 0
  );
}

/** The conversation has visitor messages waiting for a turn. */
export function hasWaitingMessages(db: Database, session: Session): boolean {
  return !!db
    .query(
      `SELECT 1 FROM crisp_inbox WHERE chatbot_id = ? AND session_id = ? AND state = 'pending'
         AND author = 'visitor' AND website_id = ?`,
    )
    .get(session.chatbotId, session.sessionId, session.websiteId);
}

/** Claims the conversation's waiting visitor messages for this job, oldest first. */
export function claimInbox(
  db: Database,
  jobId: number,
  session: Session,
): { fingerprint: string; content: string; received_at: number }[] {
  return db
    .query<
      { fingerprint: string; content: string; received_at: number },
      [number, string, string, string]
    >(
      `UPDATE crisp_inbox SET state = 'claimed', job_id = ?
       WHERE chatbot_id = ? AND website_id = ? AND session_id = ? AND state = 'pending'
         AND author = 'visitor'
       RETURNING fingerprint, content, received_at`,
    )
    .all(jobId, session.chatbotId, session.websiteId, session.sessionId)
    .sort((a, b) => a.received_at - b.received_at);
}

/** How the messages a job claimed ended. */
export function settleInbox(db: Database, jobId: number, state: 'muted' | 'dropped' | 'answered') {
  db.query('UPDATE crisp_inbox SET state = ? WHERE job_id = ?').run(state, jobId);
}

/**
 * An operator typed before the turn posted anything to the visitor: its messages wait again (the
 * typing grace job answers them), its posts will not be made, and the turn ends `aborted`.
 */
export function releaseTurn(db: Database, jobId: number, now: number): void {
  db.query("UPDATE crisp_inbox SET state = 'pending', job_id = NULL WHERE job_id = ?").run(jobId);
  skipIntents(db, jobId);
  setTurn(db, jobId, 'aborted', 'aborted', now);
}

/** Too late to answer (CRISP_MAX_REPLY_AGE_MINUTES): nothing more of the turn is posted. */
export function expireTurn(db: Database, jobId: number, now: number): void {
  skipIntents(db, jobId);
  setTurn(db, jobId, 'dropped', 'expired', now);
  settleInbox(db, jobId, 'dropped');
}

function skipIntents(db: Database, jobId: number): void {
  db.query("UPDATE crisp_outbox SET state = 'skipped' WHERE job_id = ? AND state = 'intent'").run(
    jobId,
  );
}

/** Some post of the turn that the visitor sees went out (so it cannot be taken back). */
export function visitorSawPost(db: Database, jobId: number): boolean {
  return !!db
    .query("SELECT 1 FROM crisp_outbox WHERE job_id = ? AND kind != 'note' AND state = 'sent'")
    .get(jobId);
}

// ---------------------------------------------------------------------------------------------
// crisp_turns

export function loadTurn(db: Database, jobId: number): Turn | null {
  const row = db
    .query<TurnRow, [number]>(`SELECT ${TURN} FROM crisp_turns WHERE job_id = ?`)
    .get(jobId);
  if (!row) return null;
  return {
    ...row,
    reservation: json<Reservation>(row.reservation),
    answer: json<StoredAnswer>(row.answer),
  };
}

export function insertTurn(
  db: Database,
  turn: Pick<
    Turn,
    'jobId' | 'conversationId' | 'question' | 'visitorMessageId' | 'state' | 'askedAt'
  > &
    Session & { outcome: string | null },
  now: number,
): void {
  db.query(
    `INSERT INTO crisp_turns (job_id, chatbot_id, website_id, session_id, conversation_id, question,
       visitor_message_id, state, outcome, asked_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    turn.jobId,
    turn.chatbotId,
    turn.websiteId,
    turn.sessionId,
    turn.conversationId,
    turn.question,
    turn.visitorMessageId,
    turn.state,
    turn.outcome,
    turn.askedAt,
    now,
    now,
  );
}

export function setTurn(
  db: Database,
  jobId: number,
  state: TurnState,
  outcome: string,
  now: number,
  answer?: StoredAnswer,
): void {
  db.query(
    'UPDATE crisp_turns SET state = ?, outcome = ?, answer = COALESCE(?, answer), updated_at = ? WHERE job_id = ?',
  ).run(state, outcome, answer ? JSON.stringify(answer) : null, now, jobId);
}

/** Keeps (or forgets, with null) the turn's quota reservation. */
export function keepReservation(db: Database, jobId: number, reservation: Reservation | null) {
  db.query('UPDATE crisp_turns SET reservation = ? WHERE job_id = ?').run(
    reservation ? JSON.stringify(reservation) : null,
    jobId,
  );
}

// ---------------------------------------------------------------------------------------------
// crisp_outbox and crisp_sent

/** The visitor of this conversation was already told the quota is used up. */
export function quotaPosted(db: Database, chatbotId: string, sessionId: string): boolean {
  return !!db
    .query(
      "SELECT 1 FROM crisp_outbox WHERE chatbot_id = ? AND session_id = ? AND kind = 'quota' AND state != 'skipped'",
    )
    .get(chatbotId, sessionId);
}

/** Commits the posts of a turn as intents, in order, before any of them is sent. */
export function addIntents(
  db: Database,
  jobId: number,
  session: Session,
  posts: PlannedPost[],
  now: number,
): void {
  const insert = db.query(
    `INSERT INTO crisp_outbox (job_id, step, kind, chatbot_id, website_id, session_id, body,
       content, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  posts.forEach((post, step) => {
    insert.run(
      jobId,
      step,
      post.kind,
      session.chatbotId,
      session.websiteId,
      session.sessionId,
      JSON.stringify(post.body),
      post.body.content,
      now,
    );
  });
}

export function intentsOf(db: Database, jobId: number): Intent[] {
  return db
    .query<Omit<Intent, 'body' | 'uncertain'> & { body: string; uncertain: number }, [number]>(
      `SELECT id, kind, body, state, uncertain, created_at AS createdAt FROM crisp_outbox
       WHERE job_id = ? ORDER BY step`,
    )
    .all(jobId)
    .map((row) => ({
      ...row,
      body: JSON.parse(row.body) as CrispOutgoingMessage,
      uncertain: row.uncertain === 1,
    }));
}

/** A human took over: the turn's visitor-facing posts not sent yet never will be. */
export function skipVisitorFacing(db: Database, jobId: number): void {
  db.query(
    "UPDATE crisp_outbox SET state = 'skipped' WHERE job_id = ? AND state = 'intent' AND kind != 'note'",
  ).run(jobId);
}

/** Right before the POST: from now until its answer is recorded, the post may have gone out. */
export function markInFlight(db: Database, intentId: number): void {
  db.query('UPDATE crisp_outbox SET uncertain = 1, attempts = attempts + 1 WHERE id = ?').run(
    intentId,
  );
}

/** Crisp clearly refused the POST: nothing was posted, the retry may post without reading back. */
export function markNotPosted(db: Database, intentId: number): void {
  db.query('UPDATE crisp_outbox SET uncertain = 0 WHERE id = ?').run(intentId);
}

/** Settles an intent as sent, with the fingerprint Crisp gave the message (our echo's key). */
export function recordSent(
  db: Database,
  turn: Turn,
  intent: Intent,
  fingerprint: string | null,
  now: number,
): void {
  db.query(
    "UPDATE crisp_outbox SET state = 'sent', uncertain = 0, fingerprint = ?, sent_at = ? WHERE id = ?",
  ).run(fingerprint, now, intent.id);
  if (fingerprint === null) return;
  db.query(
    `INSERT INTO crisp_sent (website_id, session_id, fingerprint, chatbot_id, job_id, kind, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(turn.websiteId, turn.sessionId, fingerprint, turn.chatbotId, turn.jobId, intent.kind, now);
}

/** The fingerprints of every message we posted in this conversation. */
export function sentFingerprints(db: Database, websiteId: string, sessionId: string): Set<string> {
  return new Set(
    db
      .query<{ fingerprint: string }, [string, string]>(
        'SELECT fingerprint FROM crisp_sent WHERE website_id = ? AND session_id = ?',
      )
      .all(websiteId, sessionId)
      .map((r) => r.fingerprint),
  );
}

/**
 * Is this operator message one we posted? First by the fingerprint Crisp returned for our post,
 * then by a post still in flight (created after `inFlightSince`) with the same content: the echo
 * can beat Crisp's answer to our POST. Says which, or null.
 */
export function isOurPost(
  db: Database,
  websiteId: string,
  sessionId: string,
  message: { fingerprint: string; content: unknown },
  inFlightSince: number,
): 'fingerprint' | 'in_flight' | null {
  if (
    db
      .query('SELECT 1 FROM crisp_sent WHERE website_id = ? AND session_id = ? AND fingerprint = ?')
      .get(websiteId, sessionId, message.fingerprint)
  ) {
    return 'fingerprint';
  }
  const inFlight =
    typeof message.content === 'string' &&
    !!db
      .query(
        `SELECT 1 FROM crisp_outbox WHERE website_id = ? AND session_id = ? AND state != 'skipped'
           AND (fingerprint IS NULL OR fingerprint = ?) AND content = ? AND created_at > ?
         LIMIT 1`,
      )
      .get(websiteId, sessionId, message.fingerprint, message.content, inFlightSince);
  return inFlight ? 'in_flight' : null;
}

// ---------------------------------------------------------------------------------------------
// Reply times (the analytics, src/analytics/)

/**
 * Each turn of a chatbot that posted a visitor-facing message (reply, handoff or quota text), for
 * visitor messages that arrived in [fromMs, toMs): when the first of its messages reached the
 * webhook (`received_at`) and when its first visitor-facing post was sent (`sent_at`).
 */
export function replyTimes(
  db: Database,
  chatbotId: string,
  fromMs: number,
  toMs: number,
): { receivedAt: number; sentAt: number }[] {
  return db
    .query<{ receivedAt: number; sentAt: number }, [string, number, number]>(
      `SELECT MIN(i.received_at) AS receivedAt,
         (SELECT MIN(o.sent_at) FROM crisp_outbox o
          WHERE o.job_id = i.job_id AND o.kind != 'note' AND o.state = 'sent') AS sentAt
       FROM crisp_inbox i
       WHERE i.chatbot_id = ? AND i.author = 'visitor' AND i.job_id IS NOT NULL
         AND i.received_at >= ? AND i.received_at < ?
       GROUP BY i.job_id HAVING sentAt IS NOT NULL`,
    )
    .all(chatbotId, fromMs, toMs);
}
