// Health: /healthz (process up), /readyz (storage and configuration), /metrics (admin).
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import type { Config } from '../config.ts';
import type { LlmProbe } from '../llm/probe.ts';
import type { ModelPullStatus } from '../models/model.ts';
import { type LanceConnection, pingLance } from '../storage/lancedb/db.ts';
import { pingDatabase } from '../storage/sqlite/db.ts';
import type { WriteHealth } from '../storage/sqlite/write-health.ts';
import type { Metrics } from './metrics.ts';
import { HealthResponse, ReadinessResponse } from './model.ts';

export type ReadinessCheck = { name: string; ok: boolean; detail?: string };

/** Which search legs run now, and the model pulled at start (src/models/auto-pull.ts). */
export type RetrievalStatus = {
  retrieval: 'fulltext' | 'hybrid';
  modelPull: ModelPullStatus;
};

export type HealthDeps = {
  config: Pick<Config, 'EMBEDDING_PROVIDER'>;
  db: Database;
  storage: WriteHealth;
  lance: LanceConnection;
  metrics: Metrics;
  /** The LLM endpoint's last check: reported, never a reason for 503 (README, Decisions). */
  llmProbe: Pick<LlmProbe, 'current'>;
  /** Read at each request: the auto-pull switches to hybrid search while serving. */
  retrieval: () => RetrievalStatus;
  /** Features' checks: embeddings, the chunk index. */
  readinessChecks: readonly (() => Promise<ReadinessCheck>)[];
};

/** A readiness check slower than this fails, so /readyz answers even when storage hangs. */
export const READINESS_CHECK_TIMEOUT_MS = 2_000;

/** Runs one check; a throw or a hang (e.g. a stuck LanceDB query) is a failed check, not a 500. */
async function bounded(
  name: string,
  check: () => Promise<ReadinessCheck>,
  timeoutMs: number,
): Promise<ReadinessCheck> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<ReadinessCheck>((resolve) => {
    timer = setTimeout(
      () => resolve({ name, ok: false, detail: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      check().catch(() => ({ name, ok: false, detail: 'check failed' })),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** SQLite answers reads and can write (a disk-full failure shows here until writes pass again). */
function sqliteReadiness(deps: HealthDeps): ReadinessCheck {
  if (!pingDatabase(deps.db)) return { name: 'sqlite', ok: false };
  const failure = deps.storage.check();
  if (!failure) return { name: 'sqlite', ok: true };
  return {
    name: 'sqlite',
    ok: false,
    detail: `${failure.reason} (since ${new Date(failure.since).toISOString()})`,
  };
}

/** Why search is full-text only while the model pulled at start is not in use yet. */
function pullWarning(pull: ModelPullStatus): string {
  const why =
    pull.state === 'failed'
      ? `the pull failed (${pull.reason}); next retry at ${pull.nextRetryAt}`
      : `${pull.state} (attempt ${pull.attempts})`;
  return `search is full-text only until the embedding model ${pull.model} is ready: ${why}`;
}

export function healthRoutes(
  deps: HealthDeps,
  { checkTimeoutMs = READINESS_CHECK_TIMEOUT_MS }: { checkTimeoutMs?: number } = {},
) {
  return new Elysia({ name: 'health' })
    .get('/healthz', () => ({ status: 'ok' as const }), {
      response: { 200: HealthResponse },
      detail: { tags: ['health'], summary: 'Process is up', security: [] },
    })
    .get(
      '/readyz',
      async ({ set }) => {
        const lance = async () => ({ name: 'lancedb', ok: await pingLance(deps.lance) });
        const [lanceCheck, llm] = await Promise.all([
          bounded('lancedb', lance, checkTimeoutMs),
          deps.llmProbe.current(checkTimeoutMs),
        ]);
        const checks: ReadinessCheck[] = [sqliteReadiness(deps), lanceCheck];
        const warnings: string[] = [];
        // A failing LLM keeps /readyz 200: webhooks must still be accepted (and handed off).
        if (llm.status !== 'ok' && llm.status !== 'unknown') {
          warnings.push(
            `LLM ${llm.status}: ${llm.reason}: the bot hands every conversation to a human`,
          );
        }
        const { retrieval, modelPull } = deps.retrieval();
        const pulled = modelPull.state === 'done';
        if (deps.config.EMBEDDING_PROVIDER === 'none' && modelPull.state === 'off') {
          warnings.push('EMBEDDING_PROVIDER is none: search is full-text only (no vectors)');
        } else if (modelPull.state !== 'off' && !pulled) {
          warnings.push(pullWarning(modelPull));
        }
        // Features' checks run at once; one that throws or hangs is reported as `feature`.
        checks.push(
          ...(await Promise.all(
            deps.readinessChecks.map((extra) => bounded('feature', extra, checkTimeoutMs)),
          )),
        );
        const ready = checks.every((c) => c.ok);
        set.status = ready ? 200 : 503;
        return {
          status: ready ? ('ready' as const) : ('not_ready' as const),
          checks,
          llm: llm.status,
          llmReason: llm.reason,
          llmCheckedAt: llm.checkedAt,
          embedding: pulled ? ('local' as const) : deps.config.EMBEDDING_PROVIDER,
          retrieval,
          modelPull,
          warnings,
        };
      },
      {
        response: { 200: ReadinessResponse, 503: ReadinessResponse },
        detail: {
          tags: ['health'],
          summary:
            'Storage reachable (else 503); the LLM endpoint last check and degraded features, reported',
          security: [],
        },
      },
    )
    .get(
      '/metrics',
      ({ set }) => {
        set.headers['content-type'] = 'text/plain; version=0.0.4; charset=utf-8';
        return deps.metrics.render();
      },
      {
        detail: {
          tags: ['health'],
          summary: 'Prometheus metrics (admin token required)',
          responses: {
            200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': {} } },
          },
        },
      },
    );
}
