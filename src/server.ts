// The service: builds the dependencies (src/deps.ts), starts the HTTP server, shuts down cleanly.
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { type AppDeps, buildDeps, registerJobs } from './deps.ts';
import { routableRequest } from './http/host.ts';
import { createLogger } from './logging.ts';
import { writeServiceMarker } from './sources/service-marker.ts';
import { startCheckpointer } from './storage/sqlite/checkpointer.ts';
import { VERSION } from './version.ts';

/** How long in-flight requests may run after SIGTERM before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export type RunningServer = {
  url: string;
  port: number;
  /** Stops accepting, waits for in-flight requests, runs the stop hooks, closes storage. */
  stop: (reason: string) => Promise<void>;
};

/** Serves `app` over HTTP (Bun.serve) on the configured address. */
export function startServer(
  deps: AppDeps,
  app: { handle: (request: Request) => Response | Promise<Response> } = createApp(deps),
): RunningServer {
  const { config, log } = deps;
  const server = Bun.serve({
    port: config.PORT,
    hostname: config.HOST,
    // Bun's own cap, just above ours: the app answers 413 with the envelope below it
    // (src/http/body.ts); above it Bun answers a bare 413.
    maxRequestBodySize: Math.max(config.UPLOAD_LIMIT_BYTES, config.BODY_LIMIT_BYTES) + 1_048_576,
    fetch: (request) => {
      const routable = routableRequest(request);
      return routable instanceof Response ? routable : app.handle(routable);
    },
  });
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down: refusing new requests, finishing in-flight ones');
      const grace = setTimeout(() => {
        log.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'in-flight requests too slow: closing them');
        void server.stop(true);
      }, SHUTDOWN_GRACE_MS);
      await server.stop();
      clearTimeout(grace);
      await deps.close();
      log.info('stopped');
    })();
    return stopping;
  };
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  return { url: `http://${host}:${server.port}`, port: server.port ?? config.PORT, stop };
}

/** Runs the service until SIGTERM or SIGINT. */
export async function serve(): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const deps = await buildDeps(config, log);
  registerJobs(deps);
  // WAL checkpoints in a thread of their own; stopped last, just before storage closes.
  const checkpoints = startCheckpointer(deps.db, {
    log: log.child({ component: 'sqlite' }),
    metrics: deps.metrics,
    gate: deps.commits,
  });
  deps.onShutdown.unshift(() => checkpoints.stop());
  const app = createApp(deps);
  const running = startServer(deps, app);
  // After registerJobs: jobs resumed from the last run find their kind.
  deps.worker.start();
  // Checks the LLM endpoint now and every LLM_PROBE_INTERVAL_SECONDS (/readyz shows the result).
  deps.llmProbe.start();
  // Queues due refreshes of url and sitemap sources now and every minute (stopped at shutdown).
  deps.refreshScheduler.start();
  // No embedder set up: pulls the default model in the background and switches to hybrid search.
  deps.modelAutoPull.start();
  // Tells `answerdesk ingest` to send its work here (one LanceDB writer per data dir).
  const unmark = writeServiceMarker(config.DATA_DIR, running.url);
  log.info(
    {
      version: VERSION,
      url: running.url,
      dataDir: config.DATA_DIR,
      adminTokenLocation:
        config.adminTokenSource === 'env'
          ? 'from ADMIN_TOKEN'
          : `in ${config.adminTokenFile} (mode 0600)`,
      llm: config.GROQ_API_KEY
        ? 'groq'
        : 'missing GROQ_API_KEY: the bot will hand off every conversation',
      embedding: deps.embedder
        ? `${deps.embedder.provider}: ${deps.embedder.model} (${deps.embedder.dimension} dimensions)`
        : 'none: full-text search only',
      retrieval: deps.knowledge.vectorsReady ? 'hybrid' : 'fulltext',
    },
    'answerdesk started',
  );
  // `once`: a second signal while draining falls back to the default action and exits at once.
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  try {
    await running.stop(signal);
  } finally {
    // Even when a stop step failed: a stale marker would send `answerdesk ingest` to a dead URL.
    unmark();
  }
  return 0;
}
