// The service: builds the real dependencies, starts the HTTP server, shuts down cleanly.
import { join } from 'node:path';
import { type AppDeps, createApp } from './app.ts';
import { type Config, loadConfig } from './config.ts';
import { Metrics } from './http/metrics.ts';
import { Worker } from './jobs/worker.ts';
import { createLogger, type Logger } from './logging.ts';
import { openLance } from './storage/lancedb/db.ts';
import { openDatabase } from './storage/sqlite/db.ts';
import { VERSION } from './version.ts';

/** Opens storage and builds every dependency the app needs from the configuration. */
export async function buildDeps(config: Config, log: Logger): Promise<AppDeps> {
  const db = openDatabase(join(config.DATA_DIR, 'answerdesk.sqlite'));
  const lance = await openLance(config.DATA_DIR);
  const metrics = new Metrics();
  const worker = new Worker({
    db,
    log: log.child({ component: 'worker' }),
    metrics,
    concurrency: config.WORKER_CONCURRENCY,
  });
  return {
    config,
    log,
    db,
    lance,
    metrics,
    worker,
    readinessChecks: [],
    onChatbotDelete: [],
  };
}

/** Runs the service until SIGTERM or SIGINT. */
export async function serve(): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const deps = await buildDeps(config, log);
  const app = createApp(deps);
  const server = Bun.serve({
    port: config.PORT,
    hostname: config.HOST,
    // Bun's own cap; routes enforce their tighter limits (1 MiB webhook, JSON, uploads).
    maxRequestBodySize: config.UPLOAD_LIMIT_BYTES + 1_048_576,
    fetch: (request) => app.handle(request),
  });
  // Jobs start after every feature registered its kinds (in createApp), so resumed work runs.
  deps.worker.start();
  log.info(
    {
      version: VERSION,
      url: `http://${config.HOST}:${server.port}`,
      dataDir: config.DATA_DIR,
      adminTokenLocation:
        config.adminTokenSource === 'env'
          ? 'from ADMIN_TOKEN'
          : `in ${config.adminTokenFile} (mode 0600)`,
      llm: config.GROQ_API_KEY
        ? 'groq'
        : 'missing GROQ_API_KEY: the bot will hand off every conversation',
      embedding:
        config.EMBEDDING_PROVIDER === 'none'
          ? 'none: full-text search only'
          : config.EMBEDDING_PROVIDER,
    },
    'answerdesk started',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await server.stop();
  await deps.worker.stop();
  deps.db.close();
  return 0;
}
