// One bot turn for a Crisp conversation: policy → compose → answer → post exactly once → handoff.
//
// The turn is a small state machine persisted in `crisp_turns` (src/crisp/turn-store.ts), so a
// job resumed after a crash continues where it stopped: it never calls the LLM for an answer it
// already has, never reserves quota twice, and never posts a message twice (each post is an
// outbox intent committed before the POST; src/crisp/turn-delivery.ts posts and reconciles).
// While Crisp refuses the connection (quota), the turn waits without calling anyone; a reply that
// could only be posted more than CRISP_MAX_REPLY_AGE_MINUTES after the visitor wrote is dropped.
import type { AnswerInput, AnswerResult } from '../answers/answer.ts';
import { capMessage } from '../answers/model.ts';
import type { Chatbot } from '../chatbots/model.ts';
import { findChatbot } from '../chatbots/service.ts';
import {
  addVisitorMessage,
  crispConversation,
  deleteMessages,
  hoursFrom,
  isMuted,
  mute,
} from '../conversations/service.ts';
import type { JobContext, JobOutcome } from '../jobs/types.ts';
import type { Logger } from '../logging.ts';
import { checkBurst, quotaHook } from '../quotas/service.ts';
import { declineReason, type OperatorAvailability } from './answer-policy.ts';
import type { Connection } from './connections.ts';
import type { ReplyJobPayload } from './model.ts';
import {
  CrispFailure,
  composeBestEffort,
  type DeliveryDeps,
  deliver,
  throttle,
  typingNow,
} from './turn-delivery.ts';
import { plannedPosts } from './turn-plan.ts';
import {
  addIntents,
  claimInbox,
  expireTurn,
  hasWaitingMessages,
  insertTurn,
  keepReservation,
  loadTurn,
  quotaPosted,
  releaseTurn,
  setTurn,
  settleInbox,
  type Turn,
} from './turn-store.ts';

export type TurnDeps = DeliveryDeps & {
  answer: (input: AnswerInput) => Promise<AnswerResult>;
  availability: OperatorAvailability;
  /** CRISP_MAX_REPLY_AGE_MINUTES in ms: a reply is never posted later after the visitor wrote. */
  maxReplyAgeMs: number;
};

type Job = JobContext<ReplyJobPayload>;

const DISCONNECTED: JobOutcome = {
  status: 'cancelled',
  reason: 'the chatbot is no longer connected to this website',
};

/** Runs (or resumes) the reply turn of one job. */
export async function runReplyTurn(deps: TurnDeps, job: Job): Promise<JobOutcome> {
  const started = deps.clock.now();
  const { chatbotId, websiteId, sessionId } = job.payload;
  const connection = deps.connections.get(chatbotId);
  const chatbot = findChatbot(deps.db, chatbotId);
  if (!connection || !chatbot || connection.websiteId !== websiteId) {
    count(deps, 'disconnected');
    return DISCONNECTED;
  }
  const log = job.log.child({ chatbotId, sessionId });
  let turn = loadTurn(deps.db, job.id);
  const timing: Record<string, number> = {};
  const finish = (outcome: JobOutcome, opened: Turn) =>
    logTurn(deps, log, loadTurn(deps.db, job.id) ?? opened, outcome, started, timing);
  const unfinished = turn?.state === 'started' || turn?.state === 'answered';
  if (turn && unfinished && deps.clock.now() - turn.askedAt > deps.maxReplyAgeMs) {
    expire(deps, log, turn);
    return finish({ status: 'done', result: { outcome: 'expired' } }, turn);
  }
  // Crisp refuses this connection for now: no call and no LLM answer until its refusal ends.
  const throttled = deps.connections.throttledUntil(chatbotId);
  if (throttled !== null && throttled > deps.clock.now()) {
    return { status: 'wait', reason: 'Crisp refused for quota or rate', until: throttled };
  }
  // An operator is typing: the conversation's grace job answers once they stopped without writing.
  if (typingNow(deps.db, job.payload, job.signal)) {
    if (!turn) {
      count(deps, 'held_for_typing');
      return { status: 'done', result: { outcome: 'held_for_typing' } };
    }
    if (unfinished) {
      release(deps, turn);
      return finish({ status: 'cancelled', reason: 'an operator is typing' }, turn);
    }
  }
  if (!turn) {
    turn = await openTurn(deps, job, chatbot, connection, log);
    if (!turn) {
      count(deps, 'coalesced');
      return { status: 'done', result: { outcome: 'coalesced' } };
    }
  }
  const opened = turn;
  try {
    if (turn.state === 'started') {
      const outcome = await answerTurn(deps, job, connection, chatbot, turn, timing);
      if (outcome) return finish(outcome, opened);
      turn = loadTurn(deps.db, job.id)!;
    }
    if (turn.state === 'answered') {
      const postStart = deps.clock.now();
      const outcome = await postTurn(deps, job, connection, chatbot, turn);
      timing.postMs = deps.clock.now() - postStart;
      return finish(outcome, opened);
    }
    // Finished before a crash lost the job's own bookkeeping, or left as history at once.
    return finish({ status: 'done', result: { outcome: turn.outcome ?? turn.state } }, opened);
  } catch (e) {
    if (!(e instanceof CrispFailure)) throw e;
    return finish(crispFailed(deps, log, job, e), opened);
  }
}

/**
 * Claims the conversation's waiting visitor messages for this job and opens its turn: to be
 * answered, or kept as history at once when a human owns the conversation, the answering policy
 * declines (no LLM call, no post) or the messages are already too old to answer.
 */
async function openTurn(
  deps: TurnDeps,
  job: Job,
  chatbot: Chatbot,
  connection: Connection,
  log: Logger,
): Promise<Turn | null> {
  const { db } = deps;
  if (!hasWaitingMessages(db, job.payload)) return null;
  const at = new Date(deps.clock.now());
  const conversation = crispConversation(db, job.payload, at);
  const declined = isMuted(db, conversation.id, at)
    ? null
    : await declineReason(chatbot, connection, deps);
  const now = deps.clock.now();
  const turn = db.transaction((): Turn | null => {
    const claimed = claimInbox(db, job.id, job.payload);
    if (claimed.length === 0) return null;
    const askedAt = claimed.reduce((latest, m) => Math.max(latest, m.received_at), 0);
    const stopped = isMuted(db, conversation.id, new Date(now))
      ? 'muted'
      : declined
        ? `declined:${declined}`
        : now - askedAt > deps.maxReplyAgeMs
          ? 'expired'
          : null;
    const question = claimed.map((m) => m.content).join('\n');
    // Kept as history: the visitor's words as written. Else a burst is answered as one message:
    // the history keeps it as the visitor wrote it.
    const visitorMessages = stopped
      ? claimed
      : [{ content: question, fingerprint: claimed[claimed.length - 1]!.fingerprint }];
    const stored = visitorMessages.map((m) => addVisitorMessage(db, conversation.id, m, at));
    if (stopped) settleInbox(db, job.id, stopped === 'muted' ? 'muted' : 'dropped');
    insertTurn(
      db,
      {
        ...job.payload,
        jobId: job.id,
        conversationId: conversation.id,
        question,
        visitorMessageId: stopped ? null : stored[0]!.id,
        state: stopped === 'muted' ? 'muted' : stopped ? 'dropped' : 'started',
        outcome: stopped,
        askedAt,
      },
      now,
    );
    return loadTurn(db, job.id);
  })();
  if (turn?.outcome === 'expired') expiredLog(deps, log, turn);
  return turn;
}

/** Burst limit, compose start, the answer itself, and the outbox intents. Undefined = go on posting. */
async function answerTurn(
  deps: TurnDeps,
  job: Job,
  connection: Connection,
  chatbot: Chatbot,
  turn: Turn,
  timing: Record<string, number>,
): Promise<JobOutcome | undefined> {
  const { db } = deps;
  const at = () => new Date(deps.clock.now());
  if (isMuted(db, turn.conversationId, at())) {
    stop(deps, job.id, 'muted', 'muted', 'muted');
    return { status: 'done', result: { outcome: 'muted' } };
  }
  // A resumed turn already passed the burst check (and holds its reservation).
  if (job.attempt === 1 && turn.reservation === null) {
    const burst = checkBurst(db, chatbot.id, turn.sessionId, at(), {
      messages: chatbot.quota.burstMessages,
      windowSeconds: chatbot.quota.burstWindowSeconds,
    });
    if (!burst.ok) {
      stop(deps, job.id, 'dropped', 'burst_limited', 'dropped');
      return { status: 'done', result: { outcome: 'burst_limited' } };
    }
  }
  await composeBestEffort(deps, connection, turn.sessionId, 'start');
  if (turn.visitorMessageId === null) throw new Error('a started turn has its visitor message');
  const answerStart = deps.clock.now();
  const result = await deps.answer({
    chatbot,
    conversationId: turn.conversationId,
    visitorMessageId: turn.visitorMessageId,
    // The history keeps the visitor's whole text; the LLM gets the playground's bound of it.
    message: capMessage(turn.question),
    signal: job.signal,
    // Kept with the turn, so a crash mid-answer resumes with the same reservation.
    quota: quotaHook(db, chatbot.id, deps.clock, {
      held: turn.reservation,
      keep: (reservation) => keepReservation(db, job.id, reservation),
    }),
  });
  timing.answerMs = deps.clock.now() - answerStart;

  if (result.aborted || job.signal.aborted) {
    // No message follows the compose start: the typing indicator is taken back.
    await composeBestEffort(deps, connection, turn.sessionId, 'stop');
    const reason = job.signal.reason instanceof Error ? job.signal.reason.message : 'aborted';
    if (isMuted(db, turn.conversationId, at())) stop(deps, job.id, 'aborted', 'muted', 'muted');
    else if (typingNow(db, turn, job.signal)) release(deps, turn);
    else stop(deps, job.id, 'aborted', 'aborted', 'dropped');
    return { status: 'cancelled', reason };
  }

  const posts = plannedPosts(
    chatbot,
    turn.question,
    result,
    quotaPosted(db, chatbot.id, turn.sessionId),
  );
  db.transaction(() => {
    addIntents(db, job.id, turn, posts, deps.clock.now());
    const answer = {
      handoff: result.handoff,
      reason: result.reason,
      botMessageId: result.botMessageId,
    };
    const outcome = result.handoff ? `handoff:${result.reason}` : 'answered';
    setTurn(db, job.id, 'answered', outcome, deps.clock.now(), answer);
  })();
  return undefined;
}

/** Ends a turn that posts nothing, with its claimed messages. */
function stop(
  deps: TurnDeps,
  jobId: number,
  state: 'muted' | 'dropped' | 'aborted' | 'failed',
  outcome: string,
  inbox: 'muted' | 'dropped',
): void {
  deps.db.transaction(() => {
    setTurn(deps.db, jobId, state, outcome, deps.clock.now());
    settleInbox(deps.db, jobId, inbox);
  })();
}

/**
 * An operator is typing and the visitor saw nothing of this turn: its messages wait again for
 * the typing grace job, which stores and answers them afresh (so this turn's copies leave the
 * history: the visitor message, and the answer that was never posted).
 */
function release(deps: TurnDeps, turn: Turn): void {
  const unposted = [turn.visitorMessageId, turn.answer?.botMessageId].filter(
    (id): id is string => !!id,
  );
  deps.db.transaction(() => {
    deleteMessages(deps.db, unposted);
    releaseTurn(deps.db, turn.jobId, deps.clock.now());
  })();
}

/** Too late to answer: nothing more is posted, the unposted answer leaves the history. */
function expire(deps: TurnDeps, log: Logger, turn: Turn): void {
  deps.db.transaction(() => {
    const answer = turn.answer?.botMessageId;
    if (answer) deleteMessages(deps.db, [answer]);
    expireTurn(deps.db, turn.jobId, deps.clock.now());
  })();
  expiredLog(deps, log, turn);
}

function expiredLog(deps: TurnDeps, log: Logger, turn: Turn): void {
  log.warn(
    {
      ageMinutes: Math.round((deps.clock.now() - turn.askedAt) / 60_000),
      maxMinutes: deps.maxReplyAgeMs / 60_000,
    },
    'crisp reply dropped: the visitor wrote too long ago (never posted late)',
  );
}

/** Posts the answer (no compose stop after a message: Crisp's chatbox clears typing on it). */
async function postTurn(
  deps: TurnDeps,
  job: Job,
  connection: Connection,
  chatbot: Chatbot,
  turn: Turn,
): Promise<JobOutcome> {
  const delivered = await deliver(deps, connection, turn, job.signal);
  if (delivered === 'disconnected') {
    count(deps, 'disconnected');
    return DISCONNECTED;
  }
  if (delivered === 'typing') {
    await composeBestEffort(deps, connection, turn.sessionId, 'stop');
    release(deps, turn);
    return { status: 'cancelled', reason: 'an operator is typing' };
  }
  const { dropped, seen } = delivered;
  // The typing indicator goes away by itself when a message arrives (docs/notes/crisp.md, F17);
  // only a turn that posted the visitor nothing takes it back.
  if (!seen) await composeBestEffort(deps, connection, turn.sessionId, 'stop');
  const now = deps.clock.now();
  const at = new Date(now);
  const muted = isMuted(deps.db, turn.conversationId, at);
  const outcome = dropped ? (muted ? 'muted' : 'aborted') : (turn.outcome ?? 'answered');
  deps.db.transaction(() => {
    if (turn.answer?.handoff && !dropped) {
      mute(deps.db, turn.conversationId, hoursFrom(at, chatbot.handoff.muteHours), at);
    }
    settleInbox(deps.db, job.id, dropped ? 'dropped' : 'answered');
    setTurn(deps.db, job.id, dropped ? 'dropped' : 'posted', outcome, now);
  })();
  return { status: 'done', result: { outcome } };
}

/** Keeps Crisp's reason readable as a label: `failed:<reason>`. */
const reasonLabel = (reason: string) => reason.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);

/** A Crisp call failed: the connection's health, then a wait, a retry or the job's failure. */
function crispFailed(deps: TurnDeps, log: Logger, job: Job, failure: CrispFailure): JobOutcome {
  const error = failure.error;
  const { chatbotId } = job.payload;
  deps.metrics.inc('answerdesk_crisp_api_errors_total', 'Failed Crisp REST calls by kind.', {
    kind: error.kind,
  });
  const details = { kind: error.kind, status: error.status, reason: error.reason };
  if (error.kind === 'rate_limited') {
    // Crisp's quota is daily: the turn keeps its place and waits, attempts uncounted; it is
    // answered when Crisp accepts again, or dropped once too old (CRISP_MAX_REPLY_AGE_MINUTES).
    const until = throttle(deps, chatbotId, error);
    count(deps, 'crisp_wait');
    log.warn({ ...details, waitMs: until - deps.clock.now() }, 'crisp refused: the turn waits');
    return { status: 'wait', reason: error.message, until };
  }
  deps.connections.recordError(chatbotId, error, new Date(deps.clock.now()));
  if (error.retryable && job.attempt < job.maxAttempts) {
    count(deps, 'crisp_retry');
    log.warn(details, 'crisp call failed, will retry');
    return {
      status: 'retry',
      error: error.message,
      ...(error.retryAfterMs !== null ? { delayMs: error.retryAfterMs } : {}),
    };
  }
  stop(deps, job.id, 'failed', `failed:${reasonLabel(error.reason)}`, 'dropped');
  log.error(details, 'crisp turn failed');
  return { status: 'failed', error: error.message };
}

/** The metric label of an outcome: Crisp's own failure reasons stay out of label values. */
const outcomeLabel = (outcome: string) => (outcome.startsWith('failed:') ? 'failed' : outcome);

function count(deps: TurnDeps, outcome: string): void {
  deps.metrics.inc('answerdesk_crisp_turns_total', 'Crisp bot turns by outcome.', {
    outcome: outcomeLabel(outcome),
  });
}

/** The turn's one log line and counter, from its row as it ended. */
function logTurn(
  deps: TurnDeps,
  log: Logger,
  turn: Turn,
  outcome: JobOutcome,
  started: number,
  timing: Record<string, number>,
): JobOutcome {
  if (outcome.status === 'wait' || outcome.status === 'retry') return outcome;
  const label = turn.outcome ?? turn.state;
  count(deps, label);
  log.info(
    {
      outcome: label,
      handoff: turn.answer?.handoff ?? false,
      handoffReason: turn.answer?.reason ?? null,
      totalMs: deps.clock.now() - started,
      ...timing,
    },
    'crisp turn',
  );
  return outcome;
}
