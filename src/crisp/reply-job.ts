// The Crisp reply job (`REPLY_JOB`): one visitor turn per job, run by src/crisp/turn.ts and
// registered by `registerJobs` in src/deps.ts.
import { type AnswerDeps, answerMessage } from '../answers/answer.ts';
import type { Config } from '../config.ts';
import type { JobHandler } from '../jobs/types.ts';
import { OperatorAvailability } from './answer-policy.ts';
import type { CrispClient } from './client.ts';
import type { ReplyJobPayload } from './model.ts';
import { runReplyTurn, type TurnDeps } from './turn.ts';
import type { DeliveryDeps } from './turn-delivery.ts';

/** DeliveryDeps (with the Crisp client named `crisp`, as in AppDeps) and the answer pipeline's. */
export type ReplyJobDeps = Omit<DeliveryDeps, 'client'> & {
  config: Pick<Config, 'CRISP_MAX_REPLY_AGE_MINUTES'>;
  crisp: CrispClient;
  answers: AnswerDeps;
};

export function replyJob(deps: ReplyJobDeps): JobHandler<ReplyJobPayload> {
  const log = deps.log.child({ component: 'crisp' });
  const turn: TurnDeps = {
    db: deps.db,
    log,
    metrics: deps.metrics,
    client: deps.crisp,
    connections: deps.connections,
    answer: (input) => answerMessage(deps.answers, input),
    clock: deps.clock,
    // One per process: its cache spares Crisp calls across turns.
    availability: new OperatorAvailability(deps.crisp, deps.clock, log),
    maxReplyAgeMs: deps.config.CRISP_MAX_REPLY_AGE_MINUTES * 60_000,
  };
  return {
    run: (job) => runReplyTurn(turn, job),
    maxAttempts: 8,
    backoff: { baseMs: 1_000, capMs: 60_000 },
  };
}
