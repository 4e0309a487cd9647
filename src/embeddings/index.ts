// createEmbedder(config, log): the embedder the configuration asks for, ready to use (model loaded,
// dimension known), or null for EMBEDDING_PROVIDER=none. Misconfiguration fails at start.
import { join } from 'node:path';
import { type Config, ConfigError } from '../config.ts';
import type { ReadinessCheck } from '../http/health.ts';
import type { Logger } from '../logging.ts';
import { redactUrl } from '../logging.ts';
import { DEFAULT_MODEL } from '../models/catalog.ts';
import { installedModelNames } from '../models/model-dir.ts';
import { defaultLocalModel, LocalEmbedder } from './local.ts';
import { OpenAiEmbedder } from './openai.ts';
import type { Embedder } from './types.ts';

export type { Embedder, EmbedKind } from './types.ts';
export { embedderId } from './types.ts';

/** The model asked of an OpenAI-compatible endpoint when EMBEDDING_MODEL is unset. */
export const OPENAI_DEFAULT_MODEL = 'text-embedding-3-small';

type EmbeddingConfig = Pick<
  Config,
  'DATA_DIR' | 'EMBEDDING_PROVIDER' | 'EMBEDDING_MODEL' | 'EMBEDDING_BASE_URL' | 'EMBEDDING_API_KEY'
>;

/** Where local models live: DATA_DIR/models/<name>. */
export const modelsDirOf = (config: Pick<Config, 'DATA_DIR'>) => join(config.DATA_DIR, 'models');

/**
 * Builds the configured embedder. `local` loads the model now (fail fast, and no first-request
 * stall); `openai` sends one probe to learn the dimension. Throws ConfigError with a readable
 * reason (which directory, which command) when the configuration cannot work.
 */
export async function createEmbedder(
  config: EmbeddingConfig,
  log: Logger,
): Promise<Embedder | null> {
  switch (config.EMBEDDING_PROVIDER) {
    case 'none':
      log.info({ embedding: 'none' }, 'embeddings off: search is full-text only');
      return null;
    case 'local': {
      const modelsDir = modelsDirOf(config);
      const model =
        config.EMBEDDING_MODEL ??
        defaultLocalModel(installedModelNames(modelsDir)) ??
        DEFAULT_MODEL;
      return LocalEmbedder.load({ modelsDir, model, log });
    }
    case 'openai': {
      if (!config.EMBEDDING_BASE_URL) {
        throw new ConfigError([
          {
            key: 'EMBEDDING_BASE_URL',
            message:
              'is required when EMBEDDING_PROVIDER=openai (e.g. https://api.openai.com/v1; the client appends /embeddings)',
          },
        ]);
      }
      const embedder = new OpenAiEmbedder({
        baseUrl: config.EMBEDDING_BASE_URL,
        apiKey: config.EMBEDDING_API_KEY,
        model: config.EMBEDDING_MODEL ?? OPENAI_DEFAULT_MODEL,
        log,
      });
      try {
        await embedder.start();
      } catch (cause) {
        throw new ConfigError([
          {
            key: 'EMBEDDING_BASE_URL',
            message: `the embedding endpoint ${redactUrl(config.EMBEDDING_BASE_URL)} did not answer a probe request (${cause instanceof Error ? cause.message : String(cause)})`,
          },
        ]);
      }
      log.info(
        { model: embedder.model, dimension: embedder.dimension },
        'remote embedding endpoint reachable',
      );
      return embedder;
    }
  }
}

/** The /readyz line for embeddings: which model, and that it is loaded (local) or configured. */
export function embeddingReadiness(embedder: Embedder): () => Promise<ReadinessCheck> {
  return async () => ({
    name: 'embeddings',
    ok: true,
    detail:
      embedder instanceof LocalEmbedder
        ? `local model ${embedder.model} loaded (${embedder.dimension} dimensions, ${embedder.info.dtype}, loaded in ${embedder.loadMs} ms)`
        : `${embedder.provider} model ${embedder.model} (${embedder.dimension} dimensions; probed at start)`,
  });
}
