// What /readyz says about the model pulled at start (src/models/auto-pull.ts).
import * as v from 'valibot';

const AUTO_PULL_STATES = ['off', 'pulling', 'reembedding', 'failed', 'done'] as const;

export const ModelPullStatus = v.object({
  /**
   * `off`: not needed or turned off (`reason` says which); `pulling` / `reembedding`: under way;
   * `failed`: the last attempt failed (`reason`), retried at `nextRetryAt`; `done`: hybrid search on.
   */
  state: v.picklist(AUTO_PULL_STATES),
  model: v.nullable(v.string()),
  reason: v.nullable(v.string()),
  attempts: v.number(),
  nextRetryAt: v.nullable(v.string()),
});

export type ModelPullStatus = v.InferOutput<typeof ModelPullStatus>;
