// Health: /healthz (process up), /readyz (storage and configuration), /metrics (admin).
import { Elysia } from 'elysia';
import type { AppDeps } from '../app.ts';
import { pingLance } from '../storage/lancedb/db.ts';
import { pingDatabase } from '../storage/sqlite/db.ts';
import { HealthResponse, ReadinessResponse } from './model.ts';

export type ReadinessCheck = { name: string; ok: boolean; detail?: string };

export function healthRoutes(deps: AppDeps) {
  return new Elysia({ name: 'health' })
    .get('/healthz', () => ({ status: 'ok' as const }), {
      response: { 200: HealthResponse },
      detail: { tags: ['health'], summary: 'Process is up', security: [] },
    })
    .get(
      '/readyz',
      async ({ set }) => {
        const checks: ReadinessCheck[] = [
          { name: 'sqlite', ok: pingDatabase(deps.db) },
          { name: 'lancedb', ok: await pingLance(deps.lance) },
        ];
        const warnings: string[] = [];
        if (!deps.config.GROQ_API_KEY) {
          warnings.push('GROQ_API_KEY is not set: the bot hands every conversation to a human');
        }
        if (deps.config.EMBEDDING_PROVIDER === 'none') {
          warnings.push('EMBEDDING_PROVIDER is none: search is full-text only (no vectors)');
        }
        for (const extra of deps.readinessChecks) {
          // A check that throws is a failed check, not a 500.
          checks.push(
            await extra().catch(() => ({ name: 'feature', ok: false, detail: 'check failed' })),
          );
        }
        const ready = checks.every((c) => c.ok);
        set.status = ready ? 200 : 503;
        return {
          status: ready ? ('ready' as const) : ('not_ready' as const),
          checks,
          llm: deps.config.GROQ_API_KEY ? 'configured' : 'missing_api_key',
          embedding: deps.config.EMBEDDING_PROVIDER,
          warnings,
        };
      },
      {
        response: { 200: ReadinessResponse, 503: ReadinessResponse },
        detail: {
          tags: ['health'],
          summary: 'Storage reachable and configuration complete',
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
