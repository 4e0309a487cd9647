// Hybrid search by default: when EMBEDDING_PROVIDER is unset and no model is installed, the service
// pulls the default model in the background (pull.ts: pinned revision, checksums verified), loads
// it, re-embeds the chunk index and switches to hybrid search without a restart. Until then, and
// while the hub cannot be reached, search is full-text only and the pull is retried with capped,
// jittered backoff. A start that finds the model installed but the index not yet re-embedded (the
// service stopped in between) re-embeds. MODEL_AUTO_PULL=false turns it off (air-gapped servers).
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { LocalEmbedder } from '../embeddings/local.ts';
import type { Embedder } from '../embeddings/types.ts';
import { type Logger, redactUrl } from '../logging.ts';
import { CATALOG, type CatalogModel, DEFAULT_MODEL, MULTILINGUAL_MODEL } from './catalog.ts';
import type { ModelPullStatus } from './model.ts';
import { PullError, pullModel } from './pull.ts';

/** First retry after this long; each failure doubles it, up to the cap. */
export const AUTO_PULL_RETRY_BASE_MS = 30_000;
export const AUTO_PULL_RETRY_MAX_MS = 15 * 60_000;
/** A failure reason is shown on the public /readyz: bounded. */
const REASON_CHARS_MAX = 300;

/**
 * What the public /readyz says of a failure that is not the download's own (PullError: the URL,
 * the HTTP status, the pin): a fixed phrase, since another error's message may hold local paths
 * or library internals. The log has the error itself.
 */
const INSTALL_FAILED = 'the model could not be installed (the log says why)';
const REEMBED_FAILED = 'the model could not be loaded or the chunks re-embedded (the log says why)';

/**
 * The delay before retry number `failures` (1 = after the first failure): exponential, capped,
 * with "equal jitter" (half fixed, half random) so that many servers behind one outage do not
 * come back at the same second, and no retry follows a failure at once.
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(AUTO_PULL_RETRY_MAX_MS, AUTO_PULL_RETRY_BASE_MS * 2 ** (failures - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** English when every chatbot's knowledge language is English (or there is none yet), else multilingual. */
export function autoPullModelFor(
  knowledgeLanguages: readonly (string | null)[],
  catalog: readonly CatalogModel[] = CATALOG,
): string {
  const english = knowledgeLanguages.every((l) => l !== null && /^en(-|$)/i.test(l));
  const wanted = english ? DEFAULT_MODEL : MULTILINGUAL_MODEL;
  return catalog.some((m) => m.name === wanted) ? wanted : DEFAULT_MODEL;
}

/**
 * Why the auto-pull does not run, or null when it does: with no embedder it pulls one; with the
 * default local model loaded but the index in another space (`stale`), it only re-embeds.
 */
export function autoPullOffReason(
  config: Pick<Config, 'MODEL_AUTO_PULL' | 'EMBEDDING_PROVIDER' | 'embeddingProviderSource'>,
  knowledge: { embedder: Embedder | null; stale: boolean },
): string | null {
  if (config.embeddingProviderSource === 'env') {
    return `EMBEDDING_PROVIDER=${config.EMBEDDING_PROVIDER} is set`;
  }
  if (!config.MODEL_AUTO_PULL) return 'MODEL_AUTO_PULL=false';
  if (knowledge.embedder && !knowledge.stale) {
    return `the model ${knowledge.embedder.model} is in use`;
  }
  return null;
}

export type ModelAutoPullOptions = {
  /** From `autoPullOffReason`; null = run. */
  offReason: string | null;
  modelsDir: string;
  hubUrl: string;
  /** The embedder in use (loaded at start, or by an earlier attempt); null: pull one. */
  installed: () => Embedder | null;
  /** The knowledge languages of every chatbot, read at each attempt. */
  knowledgeLanguages: () => (string | null)[];
  /** Switches the chunk index to the loaded model and re-embeds it; resolves with the chunk count. */
  useEmbedder: (embedder: Embedder) => Promise<number>;
  clock: Clock;
  log: Logger;
  catalog?: readonly CatalogModel[];
  /** Jitter source (tests pin it). */
  random?: () => number;
};

/** The background pull at start; `status()` feeds /readyz. Start it with `start()` (serve() does). */
export class ModelAutoPull {
  #status: ModelPullStatus = {
    state: 'off',
    model: null,
    reason: null,
    attempts: 0,
    nextRetryAt: null,
  };
  #running: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort = new AbortController();
  #stopped = false;

  constructor(private readonly opts: ModelAutoPullOptions) {
    if (opts.offReason) this.#status.reason = opts.offReason;
  }

  status(): ModelPullStatus {
    return { ...this.#status };
  }

  /** Starts the first attempt in the background (never awaited by the caller). */
  start(): void {
    if (this.opts.offReason) {
      this.opts.log.info({ reason: this.opts.offReason }, 'embedding model auto-pull off');
      return;
    }
    if (this.#status.state === 'off') this.#run();
  }

  /** Runs a pending retry now instead of at its time (tests); resolves when it ends. */
  retryNow(): Promise<void> {
    if (this.#status.state === 'failed' && !this.#running) {
      clearTimeout(this.#timer);
      this.#run();
    }
    return this.settle();
  }

  /** Resolves when the attempt under way (if any) has ended. */
  async settle(): Promise<void> {
    await this.#running;
  }

  /** Stops retrying and aborts a download; waits for a re-embed under way (it holds the index). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort(new Error('the service is stopping'));
    await this.#running;
  }

  #run(): void {
    if (this.#stopped) return;
    this.#running = this.#attempt().finally(() => {
      this.#running = undefined;
    });
  }

  async #attempt(): Promise<void> {
    const { opts } = this;
    const installed = opts.installed();
    const model = installed?.model ?? autoPullModelFor(opts.knowledgeLanguages(), opts.catalog);
    const attempts = this.#status.attempts + 1;
    const state = installed ? 'reembedding' : 'pulling';
    this.#status = { state, model, reason: null, attempts, nextRetryAt: null };
    opts.log.info(
      {
        retrieval: 'fulltext',
        model,
        attempt: attempts,
        ...(installed ? {} : { hub: redactUrl(opts.hubUrl) }),
      },
      installed
        ? 're-embedding the chunk index in the background: search is full-text only until it is done'
        : 'pulling the embedding model in the background: search is full-text only until it is ready',
    );
    try {
      if (!installed) {
        await pullModel({
          name: model,
          modelsDir: opts.modelsDir,
          baseUrl: opts.hubUrl,
          catalog: opts.catalog,
          signal: this.#abort.signal,
          progress: (line) => opts.log.debug({ model }, line),
        });
      }
      this.#status.state = 'reembedding';
      const { modelsDir, log } = opts;
      const embedder = installed ?? (await LocalEmbedder.load({ modelsDir, model, log }));
      const chunks = await opts.useEmbedder(embedder);
      this.#status.state = 'done';
      opts.log.info({ retrieval: 'hybrid', model, chunks }, 'hybrid search on');
    } catch (error) {
      if (this.#stopped) return;
      const delayMs = retryDelayMs(attempts, opts.random);
      const reason = this.#reasonOf(error);
      const phase = this.#status.state;
      this.#status = {
        state: 'failed',
        model,
        reason:
          error instanceof PullError
            ? reason
            : phase === 'reembedding'
              ? REEMBED_FAILED
              : INSTALL_FAILED,
        attempts,
        nextRetryAt: new Date(opts.clock.now() + delayMs).toISOString(),
      };
      opts.log.warn(
        { retrieval: 'fulltext', model, reason, attempt: attempts, retryInMs: delayMs },
        'embedding model auto-pull failed: search stays full-text only until a retry succeeds',
      );
      this.#timer = setTimeout(() => this.#run(), delayMs);
      // A pending retry never keeps a stopping process (or a test run) alive.
      this.#timer.unref?.();
    }
  }

  /** The error in one bounded line, the hub URL's credentials (if any) hidden. */
  #reasonOf(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    const shown = text.replaceAll(this.opts.hubUrl, redactUrl(this.opts.hubUrl));
    return shown.length > REASON_CHARS_MAX ? `${shown.slice(0, REASON_CHARS_MAX - 1)}…` : shown;
  }
}
