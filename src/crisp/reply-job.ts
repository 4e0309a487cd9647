// The Crisp reply job (`REPLY_JOB`): one visitor turn per job, run by src/crisp/turn.ts and
// registered by `registerJobs` in src/deps.ts.
import type { Database } from 'bun:sqlite';
import { type AnswerDeps, answerMessage } from '../answers/answer.ts';
import type { Clock } from '../clock.ts';
import type { Metrics } from '../http/metrics.ts';
import type { JobHandler } from '../jobs/worker.ts';
import type { Logger } from '../logging.ts';
import type { CrispClient } from './client.ts';
import type { ConnectionStore } from './connections.ts';
import type { ReplyJobPayload } from './model.ts';
import { runReplyTurn, type TurnDeps } from './turn.ts';

export type ReplyJobDeps = {
  db: Database;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  crisp: CrispClient;
  connections: ConnectionStore;
  answers: AnswerDeps;
};

export function replyJob(deps: ReplyJobDeps): JobHandler<ReplyJobPayload> {
  const turn: TurnDeps = {
    db: deps.db,
    log: deps.log.child({ component: 'crisp' }),
    metrics: deps.metrics,
    client: deps.crisp,
    connections: deps.connections,
    answer: (input) => answerMessage(deps.answers, input),
    clock: deps.clock,
  };
  return {
    run: (job) => runReplyTurn(turn, job),
    maxAttempts: 8,
    backoff: { baseMs: 1_000, capMs: 60_000 },
  };
}
