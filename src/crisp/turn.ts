// One bot turn for a Crisp conversation: policy → compose → answer → post exactly once → handoff.
//
// The turn is a small state machine persisted in `crisp_turns`, so a job resumed after a crash
// continues where it stopped: it never calls the LLM for an answer it already has, never reserves
// quota twice, and never posts a message twice (each post is an outbox intent committed before
// the POST; an intent whose POST may have gone out is reconciled against Crisp, not re-posted).
import type { Database } from 'bun:sqlite';
import type { AnswerInput, AnswerResult, SearchHit } from '../answers/answer.ts';
import { capMessage } from '../answers/model.ts';
import type { Chatbot } from '../chatbots/model.ts';
import { findChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import type { HandoffReason } from '../conversations/model.ts';
import { appendMessage, setMessageFingerprint } from '../conversations/service.ts';
import type { Metrics } from '../http/metrics.ts';
import type { JobContext, JobOutcome } from '../jobs/worker.ts';
import type { Logger } from '../logging.ts';
import { checkBurst, type Reservation, release, reserveMessage } from '../quotas/service.ts';
import { crispConversation, hoursFrom, isMuted, mute } from './bot-state.ts';
import type { CrispClient, CrispError, CrispMessage, CrispOutgoingMessage } from './client.ts';
import type { Connection, ConnectionStore } from './connections.ts';
import type { ReplyJobPayload } from './model.ts';

export type PostKind = 'reply' | 'handoff' | 'note' | 'quota';

export type TurnDeps = {
  db: Database;
  log: Logger;
  metrics: Metrics;
  client: CrispClient;
  connections: ConnectionStore;
  answer: (input: AnswerInput) => Promise<AnswerResult>;
  clock: Clock;
};

type TurnState = 'started' | 'answered' | 'posted' | 'muted' | 'aborted' | 'dropped' | 'failed';

type TurnRow = {
  job_id: number;
  chatbot_id: string;
  website_id: string;
  session_id: string;
  conversation_id: string;
  question: string;
  visitor_message_id: string | null;
  reservation: string | null;
  state: TurnState;
  outcome: string | null;
  answer: string | null;
};

type StoredAnswer = {
  handoff: boolean;
  reason: HandoffReason | null;
  botMessageId: string | null;
};

type OutboxRow = {
  id: number;
  step: number;
  kind: PostKind;
  body: string;
  state: 'intent' | 'sent' | 'skipped';
  uncertain: number;
  created_at: number;
};

/** How far back a reconciliation looks for our message (clock skew between us and Crisp). */
const RECONCILE_SKEW_MS = 10 * 60_000;

/** Crisp failures the turn does not handle itself: the job retries or fails with the reason. */
class CrispFailure extends Error {
  constructor(readonly error: CrispError) {
    super(error.message);
  }
}

const textMessage = (chatbot: Chatbot, content: string): CrispOutgoingMessage => ({
  type: 'text',
  from: 'operator',
  origin: 'chat',
  content,
  user: {
    nickname: chatbot.persona.nickname,
    ...(chatbot.persona.avatar ? { avatar: chatbot.persona.avatar } : {}),
  },
});

const noteMessage = (content: string): CrispOutgoingMessage => ({
  type: 'note',
  from: 'operator',
  origin: 'chat',
  content,
});

const REASON_TEXT: Record<HandoffReason, string> = {
  no_answer: 'the knowledge base does not answer it',
  asked_for_human: 'the visitor asked for a person',
  frustration: 'the visitor seems frustrated',
  error: 'answering failed (LLM or retrieval error)',
  quota: "the chatbot's message quota is used up",
};

/** The private note for the agents: the question, why the bot stepped back, what it found. */
export function handoffNote(question: string, reason: HandoffReason, sources: SearchHit[]): string {
  const lines = [
    `🤖 answerdesk handed this conversation to a human: ${REASON_TEXT[reason]}.`,
    '',
    `Visitor's question: ${question.slice(0, 1500)}`,
  ];
  const best = sources.slice(0, 3);
  if (best.length > 0) {
    lines.push('', 'Best passages found:');
    for (const [i, hit] of best.entries()) {
      const text = hit.text.replace(/\s+/g, ' ').trim();
      lines.push(
        `${i + 1}. ${hit.title}${hit.url ? ` (${hit.url})` : ''}, score ${hit.score.toFixed(3)}: ${text.slice(0, 300)}${text.length > 300 ? '…' : ''}`,
      );
    }
  } else {
    lines.push('', 'No relevant passage was found in the knowledge base.');
  }
  return lines.join('\n');
}

/**
 * The posts an answer leads to, in order. A quota handoff tells the visitor once per conversation
 * (`quotaAlreadyPosted`); later ones only leave the note.
 */
export function plannedPosts(
  chatbot: Chatbot,
  question: string,
  result: Pick<AnswerResult, 'reply' | 'handoff' | 'reason' | 'sources'>,
  quotaAlreadyPosted: boolean,
): { kind: PostKind; body: CrispOutgoingMessage }[] {
  if (!result.handoff) return [{ kind: 'reply', body: textMessage(chatbot, result.reply) }];
  const reason = result.reason ?? 'no_answer';
  const posts: { kind: PostKind; body: CrispOutgoingMessage }[] = [];
  if (reason === 'quota') {
    if (!quotaAlreadyPosted)
      posts.push({ kind: 'quota', body: textMessage(chatbot, result.reply) });
  } else {
    posts.push({ kind: 'handoff', body: textMessage(chatbot, result.reply) });
  }
  posts.push({ kind: 'note', body: noteMessage(handoffNote(question, reason, result.sources)) });
  return posts;
}

function loadTurn(db: Database, jobId: number): TurnRow | null {
  return db.query<TurnRow, [number]>('SELECT * FROM crisp_turns WHERE job_id = ?').get(jobId);
}

function setTurn(
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

/** Claims the conversation's waiting visitor messages for this job and opens its turn. */
function openTurn(db: Database, job: JobContext<ReplyJobPayload>, now: number): TurnRow | null {
  const { chatbotId, websiteId, sessionId } = job.payload;
  return db.transaction((): TurnRow | null => {
    const claimed = db
      .query<
        { fingerprint: string; content: string; received_at: number },
        [number, string, string, string]
      >(
        `UPDATE crisp_inbox SET state = 'claimed', job_id = ?
         WHERE chatbot_id = ? AND website_id = ? AND session_id = ? AND state = 'pending'
           AND author = 'visitor'
         RETURNING fingerprint, content, received_at`,
      )
      .all(job.id, chatbotId, websiteId, sessionId)
      .sort((a, b) => a.received_at - b.received_at);
    if (claimed.length === 0) return null;
    const conversation = crispConversation(db, chatbotId, websiteId, sessionId);
    const at = new Date(now);
    const muted = isMuted(db, conversation.id, at);
    const question = claimed.map((m) => m.content).join('\n');
    let visitorMessageId: string | null = null;
    if (muted) {
      // A human owns the conversation: keep the visitor's words in the history, say nothing.
      for (const m of claimed) {
        appendMessage(
          db,
          conversation.id,
          { role: 'visitor', content: m.content, fingerprint: m.fingerprint },
          at,
        );
      }
      db.query("UPDATE crisp_inbox SET state = 'muted' WHERE job_id = ?").run(job.id);
    } else {
      // A burst is answered as one message: the history keeps it as the visitor wrote it.
      visitorMessageId = appendMessage(
        db,
        conversation.id,
        {
          role: 'visitor',
          content: question,
          fingerprint: claimed[claimed.length - 1]!.fingerprint,
        },
        at,
      ).id;
    }
    db.query(
      `INSERT INTO crisp_turns (job_id, chatbot_id, website_id, session_id, conversation_id, question,
         visitor_message_id, state, outcome, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      job.id,
      chatbotId,
      websiteId,
      sessionId,
      conversation.id,
      question,
      visitorMessageId,
      muted ? 'muted' : 'started',
      muted ? 'muted' : null,
      now,
      now,
    );
    return loadTurn(db, job.id);
  })();
}

/** Runs (or resumes) the reply turn of one job. */
export async function runReplyTurn(
  deps: TurnDeps,
  job: JobContext<ReplyJobPayload>,
): Promise<JobOutcome> {
  const started = deps.clock.now();
  const { chatbotId, websiteId, sessionId } = job.payload;
  const connection = deps.connections.get(chatbotId);
  const chatbot = findChatbot(deps.db, chatbotId);
  if (!connection || !chatbot || connection.websiteId !== websiteId) {
    count(deps, 'disconnected');
    return { status: 'cancelled', reason: 'the chatbot is no longer connected to this website' };
  }
  let turn = loadTurn(deps.db, job.id) ?? openTurn(deps.db, job, deps.clock.now());
  if (!turn) {
    count(deps, 'coalesced');
    return { status: 'done', result: { outcome: 'coalesced' } };
  }
  const log = job.log.child({ chatbotId, sessionId });
  const timing: Record<string, number> = {};
  try {
    if (turn.state === 'started') {
      const outcome = await answerTurn(deps, job, connection, chatbot, turn, timing);
      if (outcome) return finish(deps, log, turn, outcome, started, timing);
      turn = loadTurn(deps.db, job.id)!;
    }
    if (turn.state === 'answered') {
      const postStart = deps.clock.now();
      const outcome = await deliver(deps, job, connection, chatbot, turn);
      timing.postMs = deps.clock.now() - postStart;
      return finish(deps, log, turn, outcome, started, timing);
    }
    // Finished before a crash lost the job's own bookkeeping: nothing left to do.
    return finish(
      deps,
      log,
      turn,
      { status: 'done', result: { outcome: turn.outcome ?? turn.state } },
      started,
      timing,
    );
  } catch (e) {
    if (!(e instanceof CrispFailure)) throw e;
    const error = e.error;
    deps.connections.recordError(chatbotId, error);
    deps.metrics.inc('answerdesk_crisp_api_errors_total', 'Failed Crisp REST calls by kind.', {
      kind: error.kind,
    });
    if (error.retryable) {
      count(deps, 'crisp_retry');
      log.warn(
        { kind: error.kind, status: error.status, reason: error.reason },
        'crisp call failed, will retry',
      );
      return {
        status: 'retry',
        error: error.message,
        ...(error.retryAfterMs !== null ? { delayMs: error.retryAfterMs } : {}),
      };
    }
    setTurn(deps.db, job.id, 'failed', `crisp_${error.kind}`, deps.clock.now());
    count(deps, 'failed');
    log.error(
      { kind: error.kind, status: error.status, reason: error.reason },
      'crisp turn failed',
    );
    return { status: 'failed', error: error.message };
  }
}

function count(deps: TurnDeps, outcome: string): void {
  deps.metrics.inc('answerdesk_crisp_turns_total', 'Crisp bot turns by outcome.', { outcome });
}

function finish(
  deps: TurnDeps,
  log: Logger,
  turn: TurnRow,
  outcome: JobOutcome,
  started: number,
  timing: Record<string, number>,
): JobOutcome {
  const row = loadTurn(deps.db, turn.job_id) ?? turn;
  const answer = row.answer ? (JSON.parse(row.answer) as StoredAnswer) : null;
  const label = row.outcome ?? row.state;
  count(deps, label);
  log.info(
    {
      outcome: label,
      handoff: answer?.handoff ?? false,
      handoffReason: answer?.reason ?? null,
      totalMs: deps.clock.now() - started,
      ...timing,
    },
    'crisp turn',
  );
  return outcome;
}

/** Burst limit, compose start, the answer itself, and the outbox intents. Undefined = go on posting. */
async function answerTurn(
  deps: TurnDeps,
  job: JobContext<ReplyJobPayload>,
  connection: Connection,
  chatbot: Chatbot,
  turn: TurnRow,
  timing: Record<string, number>,
): Promise<JobOutcome | undefined> {
  const db = deps.db;
  const at = () => new Date(deps.clock.now());
  if (isMuted(db, turn.conversation_id, at())) {
    setTurn(db, job.id, 'muted', 'muted', deps.clock.now());
    db.query("UPDATE crisp_inbox SET state = 'muted' WHERE job_id = ?").run(job.id);
    return { status: 'done', result: { outcome: 'muted' } };
  }
  // A resumed turn already passed the burst check (and holds its reservation).
  if (job.attempt === 1 && turn.reservation === null) {
    const burst = checkBurst(db, chatbot.id, turn.session_id, at(), {
      messages: chatbot.quota.burstMessages,
      windowSeconds: chatbot.quota.burstWindowSeconds,
    });
    if (!burst.ok) {
      setTurn(db, job.id, 'dropped', 'burst_limited', deps.clock.now());
      db.query("UPDATE crisp_inbox SET state = 'dropped' WHERE job_id = ?").run(job.id);
      return { status: 'done', result: { outcome: 'burst_limited' } };
    }
  }
  await composeBestEffort(deps, connection, turn.session_id, 'start');

  let reservation: Reservation | null = turn.reservation
    ? (JSON.parse(turn.reservation) as Reservation)
    : null;
  const answerStart = deps.clock.now();
  const result = await deps.answer({
    chatbot,
    conversationId: turn.conversation_id,
    // The history keeps the visitor's whole text; the LLM gets the playground's bound of it.
    message: capMessage(turn.question),
    ...(turn.visitor_message_id ? { visitorMessageId: turn.visitor_message_id } : {}),
    signal: job.signal,
    // The counter and the turn's record of it change in one transaction: a crash between the
    // two would count a message twice or, worse, resume with a reservation already given back
    // (an LLM call the quota never counted).
    reserveQuota: () => {
      // Kept with the turn, so a crash mid-answer resumes with the same reservation.
      if (reservation) return true;
      const reserved = db.transaction(() => {
        const r = reserveMessage(db, chatbot.id, at());
        if (r.ok) {
          db.query('UPDATE crisp_turns SET reservation = ? WHERE job_id = ?').run(
            JSON.stringify(r.reservation),
            job.id,
          );
        }
        return r;
      })();
      if (!reserved.ok) return false;
      reservation = reserved.reservation;
      return true;
    },
    releaseQuota: () => {
      const held = reservation;
      if (!held) return;
      db.transaction(() => {
        release(db, held);
        db.query('UPDATE crisp_turns SET reservation = NULL WHERE job_id = ?').run(job.id);
      })();
      reservation = null;
    },
  });
  timing.answerMs = deps.clock.now() - answerStart;

  if (result.aborted || job.signal.aborted) {
    await composeBestEffort(deps, connection, turn.session_id, 'stop');
    setTurn(db, job.id, 'aborted', 'aborted', deps.clock.now());
    db.query("UPDATE crisp_inbox SET state = 'dropped' WHERE job_id = ?").run(job.id);
    const reason = job.signal.reason instanceof Error ? job.signal.reason.message : 'aborted';
    return { status: 'cancelled', reason };
  }

  const quotaAlreadyPosted = !!db
    .query(
      "SELECT 1 FROM crisp_outbox WHERE chatbot_id = ? AND session_id = ? AND kind = 'quota' AND state != 'skipped'",
    )
    .get(chatbot.id, turn.session_id);
  const posts = plannedPosts(chatbot, turn.question, result, quotaAlreadyPosted);
  db.transaction(() => {
    const insert = db.query(
      `INSERT INTO crisp_outbox (job_id, step, kind, chatbot_id, website_id, session_id, body, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    posts.forEach((post, step) => {
      insert.run(
        job.id,
        step,
        post.kind,
        chatbot.id,
        turn.website_id,
        turn.session_id,
        JSON.stringify(post.body),
        deps.clock.now(),
      );
    });
    setTurn(
      db,
      job.id,
      'answered',
      result.handoff ? `handoff_${result.reason}` : 'answered',
      deps.clock.now(),
      {
        handoff: result.handoff,
        reason: result.reason,
        botMessageId: result.botMessageId,
      },
    );
  })();
  return undefined;
}

/** Compose is a courtesy: a failure is logged, except a broken connection, which stops the turn. */
async function composeBestEffort(
  deps: TurnDeps,
  connection: Connection,
  sessionId: string,
  type: 'start' | 'stop',
): Promise<void> {
  const res = await deps.client.compose(connection.credentials, sessionId, type);
  if (res.ok) {
    deps.connections.recordOk(connection.chatbotId);
    return;
  }
  if (res.error.unhealthy) throw new CrispFailure(res.error);
  deps.log.debug({ kind: res.error.kind, type }, 'crisp compose failed (ignored)');
}

/** Posts every outbox step not yet sent, in order; then the handoff's state change and mute. */
async function deliver(
  deps: TurnDeps,
  job: JobContext<ReplyJobPayload>,
  connection: Connection,
  chatbot: Chatbot,
  turn: TurnRow,
): Promise<JobOutcome> {
  const db = deps.db;
  const answer = JSON.parse(turn.answer ?? '{}') as StoredAnswer;
  const rows = db
    .query<OutboxRow, [number]>(
      'SELECT id, step, kind, body, state, uncertain, created_at FROM crisp_outbox WHERE job_id = ? ORDER BY step',
    )
    .all(job.id);
  let dropped = false;
  // Re-checked right before each visitor-facing POST (after any reconciliation read, which waits
  // on the network): an operator may have replied or started typing meanwhile. Never talk over a
  // human.
  const humanActive = () =>
    job.signal.aborted || isMuted(db, turn.conversation_id, new Date(deps.clock.now()));
  const skipVisitorFacing = () => {
    db.query(
      "UPDATE crisp_outbox SET state = 'skipped' WHERE job_id = ? AND state = 'intent' AND kind != 'note'",
    ).run(job.id);
    dropped = true;
  };
  for (const row of rows) {
    if (row.state !== 'intent') continue;
    // Disconnected, or the chatbot deleted, while this turn ran: post nothing more.
    if (!isConnected(db, turn.chatbot_id, turn.website_id)) {
      count(deps, 'disconnected');
      return { status: 'cancelled', reason: 'the chatbot is no longer connected to this website' };
    }
    const visitorFacing = row.kind !== 'note';
    if (visitorFacing && humanActive()) {
      skipVisitorFacing();
      continue;
    }
    if (row.kind === 'note' && answer.handoff) {
      // Between the visitor's handoff text and the note: the conversation goes to the inbox.
      const state = await deps.client.setState(
        connection.credentials,
        turn.session_id,
        'unresolved',
      );
      if (!state.ok) {
        if (state.error.retryable || state.error.unhealthy) throw new CrispFailure(state.error);
        deps.log.warn({ kind: state.error.kind }, 'crisp state change failed (ignored)');
      }
    }
    const posted = await postOnce(deps, connection, turn, answer, row, () =>
      visitorFacing ? humanActive() : false,
    );
    if (!posted) skipVisitorFacing();
  }
  await composeBestEffort(deps, connection, turn.session_id, 'stop').catch(() => {});
  const now = deps.clock.now();
  db.transaction(() => {
    if (answer.handoff && !dropped) {
      mute(
        db,
        turn.conversation_id,
        hoursFrom(new Date(now), chatbot.handoff.muteHours),
        new Date(now),
      );
    }
    db.query('UPDATE crisp_inbox SET state = ? WHERE job_id = ?').run(
      dropped ? 'dropped' : 'answered',
      job.id,
    );
    setTurn(
      db,
      job.id,
      dropped ? 'dropped' : 'posted',
      dropped ? 'dropped_human_active' : (turn.outcome ?? 'answered'),
      now,
    );
  })();
  return { status: 'done', result: { outcome: dropped ? 'dropped_human_active' : turn.outcome } };
}

/** Does a message in Crisp look like the one this outbox row meant to post? */
function matches(message: CrispMessage, body: CrispOutgoingMessage, notBefore: number): boolean {
  return (
    message.from === 'operator' &&
    message.type === body.type &&
    message.content === body.content &&
    (message.timestamp === undefined || message.timestamp >= notBefore)
  );
}

/** The connection row still exists for this website (a disconnect or chatbot delete removes it). */
function isConnected(db: Database, chatbotId: string, websiteId: string): boolean {
  return !!db
    .query('SELECT 1 FROM crisp_connections WHERE chatbot_id = ? AND website_id = ?')
    .get(chatbotId, websiteId);
}

/**
 * Posts one outbox row exactly once. The row is marked uncertain before the POST goes out; if
 * the process dies (or Crisp fails ambiguously) before the answer is recorded, the next attempt
 * reads the conversation back from Crisp and adopts our message if it is there. `hold()` is asked
 * right before the POST: true → nothing is posted and false is returned.
 */
async function postOnce(
  deps: TurnDeps,
  connection: Connection,
  turn: TurnRow,
  answer: StoredAnswer,
  row: OutboxRow,
  hold: () => boolean,
): Promise<boolean> {
  const db = deps.db;
  const body = JSON.parse(row.body) as CrispOutgoingMessage;
  if (row.uncertain === 1) {
    const listed = await deps.client.listMessages(connection.credentials, turn.session_id);
    if (!listed.ok) throw new CrispFailure(listed.error);
    const known = new Set(
      db
        .query<{ fingerprint: string }, [string, string]>(
          'SELECT fingerprint FROM crisp_sent WHERE website_id = ? AND session_id = ?',
        )
        .all(turn.website_id, turn.session_id)
        .map((r) => r.fingerprint),
    );
    const found = listed.value.find(
      (m) =>
        matches(m, body, row.created_at - RECONCILE_SKEW_MS) &&
        m.fingerprint !== undefined &&
        !known.has(String(m.fingerprint)),
    );
    if (found) {
      deps.metrics.inc(
        'answerdesk_crisp_reconciled_total',
        'Posts found already in Crisp after a restart.',
      );
      recordSent(deps, turn, answer, row, String(found.fingerprint));
      return true;
    }
  }
  // No await between this check and the intent being marked in flight.
  if (hold()) return false;
  db.query('UPDATE crisp_outbox SET uncertain = 1, attempts = attempts + 1 WHERE id = ?').run(
    row.id,
  );
  const sent = await deps.client.sendMessage(connection.credentials, turn.session_id, body);
  if (!sent.ok) {
    // A clear refusal (429, 4xx) means nothing was posted: the retry may post without reading back.
    if (!sent.error.uncertain)
      db.query('UPDATE crisp_outbox SET uncertain = 0 WHERE id = ?').run(row.id);
    throw new CrispFailure(sent.error);
  }
  deps.connections.recordOk(connection.chatbotId);
  recordSent(deps, turn, answer, row, sent.value.fingerprint);
  return true;
}

function recordSent(
  deps: TurnDeps,
  turn: TurnRow,
  answer: StoredAnswer,
  row: OutboxRow,
  fingerprint: string | null,
): void {
  const db = deps.db;
  const now = deps.clock.now();
  db.transaction(() => {
    db.query(
      "UPDATE crisp_outbox SET state = 'sent', uncertain = 0, fingerprint = ?, sent_at = ? WHERE id = ?",
    ).run(fingerprint, now, row.id);
    if (fingerprint === null) return;
    db.query(
      `INSERT INTO crisp_sent (website_id, session_id, fingerprint, chatbot_id, job_id, kind, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ).run(
      turn.website_id,
      turn.session_id,
      fingerprint,
      turn.chatbot_id,
      turn.job_id,
      row.kind,
      now,
    );
    if (row.kind !== 'note' && answer.botMessageId) {
      setMessageFingerprint(db, answer.botMessageId, fingerprint);
    }
  })();
  deps.metrics.inc('answerdesk_crisp_posts_total', 'Messages posted to Crisp by kind.', {
    kind: row.kind,
  });
}
