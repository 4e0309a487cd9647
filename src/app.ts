// createApp(deps): the whole HTTP surface, assembled from feature plugins. Tests use it directly.
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import { chatbotRoutes } from './chatbots/index.ts';
import type { Config } from './config.ts';
import { AppError } from './errors.ts';
import { isAdmin, isAdminPath } from './http/auth.ts';
import { docs } from './http/docs.ts';
import { errorHandler } from './http/error-handler.ts';
import { healthRoutes, type ReadinessCheck } from './http/health.ts';
import type { Metrics } from './http/metrics.ts';
import { requestContext } from './http/request-context.ts';
import type { Worker } from './jobs/worker.ts';
import type { Logger } from './logging.ts';
import type { LanceConnection } from './storage/lancedb/db.ts';
import { VERSION } from './version.ts';

export type AppDeps = {
  config: Config;
  log: Logger;
  db: Database;
  lance: LanceConnection;
  metrics: Metrics;
  /** The durable job queue; features register their job kinds on it. */
  worker: Worker;
  /** Extra /readyz checks contributed by features. */
  readinessChecks: (() => Promise<ReadinessCheck>)[];
  /** Clean-ups outside SQLite (LanceDB chunks, …) run before a chatbot row is deleted. */
  onChatbotDelete: ((chatbotId: string) => Promise<void> | void)[];
};

export function createApp(deps: AppDeps) {
  return (
    new Elysia({ name: 'answerdesk' })
      .use(requestContext(deps))
      .use(errorHandler(deps))
      // Authentication runs first, before parsing and validation, so an anonymous caller learns
      // nothing about the body it sent.
      .onRequest(({ request }) => {
        const { pathname } = new URL(request.url);
        if (
          isAdminPath(pathname) &&
          !isAdmin(request.headers.get('authorization'), deps.config.ADMIN_TOKEN)
        ) {
          throw new AppError(
            'UNAUTHORIZED',
            'Missing or invalid admin token (Authorization: Bearer …)',
          );
        }
      })
      .use(docs(VERSION))
      .use(healthRoutes(deps))
      .use(chatbotRoutes(deps))
  );
}

export type App = ReturnType<typeof createApp>;
