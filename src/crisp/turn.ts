// One bot turn for a Crisp conversation: policy → compose → answer → post exactly once → handoff.
//
// The turn is a small state machine persisted in `crisp_turns` (src/crisp/turn-store.ts), so a
// job resumed after a crash continues where it stopped: it never calls the LLM for an answer it
// already has, never reserves quota twice, and never posts a message twice (each post is an
// outbox intent committed before the POST; src/crisp/turn-delivery.ts posts and reconciles).
import type { AnswerInput, AnswerResult } from '../answers/answer.ts';
import { capMessage } from '../answers/model.ts';
import type { Chatbot } from '../chatbots/model.ts';
import { findChatbot } from '../chatbots/service.ts';
import {
  addVisitorMessage,
  crispConversation,
  hoursFrom,
  isMuted,
  mute,
} from '../conversations/service.ts';
import type { JobContext, JobOutcome } from '../jobs/worker.ts';
import type { Logger } from '../logging.ts';
import { checkBurst, quotaHook } from '../quotas/service.ts';
import type { Connection } from './connections.ts';
import type { ReplyJobPayload } from './model.ts';
import { CrispFailure, composeBestEffort, type DeliveryDeps, deliver } from './turn-delivery.ts';
import { plannedPosts } from './turn-plan.ts';
import {
  addIntents,
  claimInbox,
  insertTurn,
  keepReservation,
  loadTurn,
  quotaPosted,
  setTurn,
  settleInbox,
  type Turn,
} from './turn-store.ts';

export type TurnDeps = DeliveryDeps & {
  answer: (input: AnswerInput) => Promise<AnswerResult>;
};

const DISCONNECTED: JobOutcome = {
  status: 'cancelled',
  reason: 'the chatbot is no longer connected to this website',
};

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
    return DISCONNECTED;
  }
  let turn = loadTurn(deps.db, job.id) ?? openTurn(deps, job);
  if (!turn) {
    count(deps, 'coalesced');
    return { status: 'done', result: { outcome: 'coalesced' } };
  }
  const log = job.log.child({ chatbotId, sessionId });
  const timing: Record<string, number> = {};
  const opened = turn;
  const finish = (outcome: JobOutcome) =>
    logTurn(deps, log, loadTurn(deps.db, job.id) ?? opened, outcome, started, timing);
  try {
    if (turn.state === 'started') {
      const outcome = await answerTurn(deps, job, connection, chatbot, turn, timing);
      if (outcome) return finish(outcome);
      turn = loadTurn(deps.db, job.id)!;
    }
    if (turn.state === 'answered') {
      const postStart = deps.clock.now();
      const outcome = await postTurn(deps, job, connection, chatbot, turn);
      timing.postMs = deps.clock.now() - postStart;
      return finish(outcome);
    }
    // Finished before a crash lost the job's own bookkeeping: nothing left to do.
    return finish({ status: 'done', result: { outcome: turn.outcome ?? turn.state } });
  } catch (e) {
    if (!(e instanceof CrispFailure)) throw e;
    return crispFailed(deps, log, job.id, chatbotId, e);
  }
}

/** Claims the conversation's waiting visitor messages for this job and opens its turn. */
function openTurn(deps: TurnDeps, job: JobContext<ReplyJobPayload>): Turn | null {
  const { db } = deps;
  const now = deps.clock.now();
  const at = new Date(now);
  return db.transaction((): Turn | null => {
    const claimed = claimInbox(db, job.id, job.payload);
    if (claimed.length === 0) return null;
    const conversation = crispConversation(db, job.payload, at);
    const muted = isMuted(db, conversation.id, at);
    const question = claimed.map((m) => m.content).join('\n');
    // A human owns the conversation: keep the visitor's words in the history, say nothing. Else a
    // burst is answered as one message: the history keeps it as the visitor wrote it.
    const visitorMessages = muted
      ? claimed
      : [{ content: question, fingerprint: claimed[claimed.length - 1]!.fingerprint }];
    const stored = visitorMessages.map((m) => addVisitorMessage(db, conversation.id, m, at));
    if (muted) settleInbox(db, job.id, 'muted');
    insertTurn(
      db,
      {
        ...job.payload,
        jobId: job.id,
        conversationId: conversation.id,
        question,
        visitorMessageId: muted ? null : stored[0]!.id,
        state: muted ? 'muted' : 'started',
        outcome: muted ? 'muted' : null,
      },
      now,
    );
    return loadTurn(db, job.id);
  })();
}

/** Burst limit, compose start, the answer itself, and the outbox intents. Undefined = go on posting. */
async function answerTurn(
  deps: TurnDeps,
  job: JobContext<ReplyJobPayload>,
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
    await composeBestEffort(deps, connection, turn.sessionId, 'stop');
    stop(deps, job.id, 'aborted', 'aborted', 'dropped');
    const reason = job.signal.reason instanceof Error ? job.signal.reason.message : 'aborted';
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
    const outcome = result.handoff ? `handoff_${result.reason}` : 'answered';
    setTurn(db, job.id, 'answered', outcome, deps.clock.now(), answer);
  })();
  return undefined;
}

/** Ends a turn that posts nothing, with its claimed messages. */
function stop(
  deps: TurnDeps,
  jobId: number,
  state: 'muted' | 'dropped' | 'aborted',
  outcome: string,
  inbox: 'muted' | 'dropped',
): void {
  deps.db.transaction(() => {
    setTurn(deps.db, jobId, state, outcome, deps.clock.now());
    settleInbox(deps.db, jobId, inbox);
  })();
}

/** Posts the answer, then compose stop, and for a handoff posted in full, the mute. */
async function postTurn(
  deps: TurnDeps,
  job: JobContext<ReplyJobPayload>,
  connection: Connection,
  chatbot: Chatbot,
  turn: Turn,
): Promise<JobOutcome> {
  const delivered = await deliver(deps, connection, turn, job.signal);
  if (delivered === 'disconnected') {
    count(deps, 'disconnected');
    return DISCONNECTED;
  }
  const { dropped } = delivered;
  await composeBestEffort(deps, connection, turn.sessionId, 'stop').catch(() => {});
  const now = deps.clock.now();
  const at = new Date(now);
  const outcome = dropped ? 'dropped_human_active' : (turn.outcome ?? 'answered');
  deps.db.transaction(() => {
    if (turn.answer?.handoff && !dropped) {
      mute(deps.db, turn.conversationId, hoursFrom(at, chatbot.handoff.muteHours), at);
    }
    settleInbox(deps.db, job.id, dropped ? 'dropped' : 'answered');
    setTurn(deps.db, job.id, dropped ? 'dropped' : 'posted', outcome, now);
  })();
  return { status: 'done', result: { outcome: dropped ? 'dropped_human_active' : turn.outcome } };
}

/** A Crisp call failed: the connection's health, then a retry or the job's failure. */
function crispFailed(
  deps: TurnDeps,
  log: Logger,
  jobId: number,
  chatbotId: string,
  failure: CrispFailure,
): JobOutcome {
  const error = failure.error;
  deps.connections.recordError(chatbotId, error, new Date(deps.clock.now()));
  deps.metrics.inc('answerdesk_crisp_api_errors_total', 'Failed Crisp REST calls by kind.', {
    kind: error.kind,
  });
  const details = { kind: error.kind, status: error.status, reason: error.reason };
  if (error.retryable) {
    count(deps, 'crisp_retry');
    log.warn(details, 'crisp call failed, will retry');
    return {
      status: 'retry',
      error: error.message,
      ...(error.retryAfterMs !== null ? { delayMs: error.retryAfterMs } : {}),
    };
  }
  setTurn(deps.db, jobId, 'failed', `crisp_${error.kind}`, deps.clock.now());
  count(deps, 'failed');
  log.error(details, 'crisp turn failed');
  return { status: 'failed', error: error.message };
}

function count(deps: TurnDeps, outcome: string): void {
  deps.metrics.inc('answerdesk_crisp_turns_total', 'Crisp bot turns by outcome.', { outcome });
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
