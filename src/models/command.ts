// `answerdesk models pull [name] [--base-url URL] [--force]` and `answerdesk models list`.
import { join } from 'node:path';
import { parseEnv, resolveDataDir } from '../config.ts';
import { createEmbedder } from '../embeddings/index.ts';
import { defaultLocalModel, type LocalEmbedder } from '../embeddings/local.ts';
import { createLogger } from '../logging.ts';
import { CATALOG, type CatalogModel, DEFAULT_MODEL, MODEL_NAME_PATTERN } from './catalog.ts';
import { inspectModelDir, installedModelNames } from './model-dir.ts';
import { PullError, pullModel } from './pull.ts';

export const MODELS_USAGE = [
  'answerdesk models pull [name] [--base-url URL] [--force]',
  'answerdesk models list',
  'answerdesk models check [name]',
];

export type ModelsCommandIo = {
  env?: Record<string, string | undefined>;
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Pinned models to offer (tests pass their own). */
  catalog?: readonly CatalogModel[];
};

export type InstalledModel = {
  name: string;
  active: boolean;
  dimension: number | null;
  bytes: number;
  revision: string | null;
  trust: string;
  problem: string | null;
};

const formatBytes = (n: number) => `${(n / 1_048_576).toFixed(1)} MB`;

/** The installed models and which one the current configuration would load. */
export function listModels(env: Record<string, string | undefined>): {
  modelsDir: string;
  provider: string;
  models: InstalledModel[];
} {
  const parsed = parseEnv(env);
  const modelsDir = join(resolveDataDir(parsed.DATA_DIR), 'models');
  const names = installedModelNames(modelsDir);
  // Same default as config.ts: local when a model is provisioned.
  const provider = parsed.EMBEDDING_PROVIDER ?? (names.length > 0 ? 'local' : 'none');
  const active =
    provider === 'local' ? (parsed.EMBEDDING_MODEL ?? defaultLocalModel(names)) : undefined;
  const models = names.map((name): InstalledModel => {
    const inspected = inspectModelDir(modelsDir, name);
    if (!inspected.ok) {
      return {
        name,
        active: name === active,
        dimension: null,
        bytes: 0,
        revision: null,
        trust: '-',
        problem: inspected.problem,
      };
    }
    const { info } = inspected;
    return {
      name,
      active: name === active,
      dimension: info.dimension,
      bytes: info.bytes,
      revision: info.manifest?.revision ?? null,
      trust: info.manifest ? info.manifest.trust : 'copied (no manifest)',
      problem: null,
    };
  });
  return { modelsDir, provider, models };
}

function parseArgs(args: string[]) {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--force') flags.force = true;
    else if (arg === '--base-url') flags.baseUrl = args[++i] ?? '';
    else if (arg.startsWith('--base-url=')) flags.baseUrl = arg.slice('--base-url='.length);
    else if (arg.startsWith('-')) throw new PullError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  return { positional, flags };
}

/**
 * Loads a model through the production path and embeds two sample texts: proves a copied or
 * pulled directory works (in this very binary) and measures it. Throws ConfigError when it does not.
 */
export async function checkModel(env: Record<string, string | undefined>, name?: string) {
  const parsed = parseEnv(env);
  const dataDir = resolveDataDir(parsed.DATA_DIR);
  const embedder = (await createEmbedder(
    {
      DATA_DIR: dataDir,
      EMBEDDING_PROVIDER: 'local',
      EMBEDDING_MODEL: name ?? parsed.EMBEDDING_MODEL,
      EMBEDDING_BASE_URL: undefined,
      EMBEDDING_API_KEY: undefined,
    },
    createLogger('silent'),
  )) as LocalEmbedder;
  const texts = ['How do I reset my password?', 'Password reset: open Settings, then Account.'];
  const started = performance.now();
  const [query, passage] = await embedder.embed(texts, 'passage');
  const embedMs = Math.round((performance.now() - started) * 10) / 10;
  let similarity = 0;
  if (query && passage)
    for (let i = 0; i < query.length; i++) similarity += (query[i] ?? 0) * (passage[i] ?? 0);
  return {
    model: embedder.model,
    dir: embedder.info.dir,
    onnxFile: embedder.info.onnxFile,
    pooling: embedder.info.pooling,
    dimension: embedder.dimension,
    loadMs: embedder.loadMs,
    embedMs,
    similarity: Math.round(similarity * 1000) / 1000,
  };
}

/** Runs `models <sub> …`; returns the exit code. */
export async function runModelsCommand(args: string[], io: ModelsCommandIo = {}): Promise<number> {
  const env = io.env ?? Bun.env;
  const out = io.out ?? ((line: string) => console.log(line));
  const err = io.err ?? ((line: string) => console.error(line));
  const catalog = io.catalog ?? CATALOG;
  const [sub, ...rest] = args;
  try {
    if (sub === 'list') {
      const { modelsDir, provider, models } = listModels(env);
      out(`models in ${modelsDir} (EMBEDDING_PROVIDER=${provider})`);
      if (models.length === 0) out('  none installed');
      for (const m of models) {
        const dims = m.dimension === null ? '?' : String(m.dimension);
        const detail = m.problem ?? `${dims} dims, ${formatBytes(m.bytes)}, ${m.trust}`;
        out(`${m.active ? '* ' : '  '}${m.name.padEnd(28)} ${detail}`);
      }
      const missing = catalog.filter((c) => !models.some((m) => m.name === c.name));
      if (missing.length > 0) out('available to pull:');
      for (const c of missing) out(`  ${c.name.padEnd(28)} ${c.description}`);
      return 0;
    }
    if (sub === 'pull') {
      const { positional, flags } = parseArgs(rest);
      const name = positional[0] ?? DEFAULT_MODEL;
      if (!MODEL_NAME_PATTERN.test(name)) throw new PullError(`invalid model name "${name}"`);
      const baseUrl = typeof flags.baseUrl === 'string' ? flags.baseUrl : undefined;
      if (baseUrl !== undefined && !/^https?:\/\/[^/]/i.test(baseUrl)) {
        throw new PullError('--base-url must be an absolute http(s) URL');
      }
      const parsed = parseEnv(env);
      const modelsDir = join(resolveDataDir(parsed.DATA_DIR), 'models');
      const controller = new AbortController();
      const onSignal = () => controller.abort(new PullError('interrupted'));
      process.once('SIGINT', onSignal);
      try {
        const result = await pullModel({
          name,
          modelsDir,
          baseUrl: baseUrl ?? parsed.MODEL_HUB_URL,
          force: flags.force === true,
          catalog,
          progress: err,
          signal: controller.signal,
        });
        if (result.trustedOnFirstUse.length > 0) {
          err(
            `note: no pinned checksum for ${result.trustedOnFirstUse.join(', ')}; recorded on this first pull and enforced from now on`,
          );
        }
        out(result.dir);
        return 0;
      } finally {
        process.off('SIGINT', onSignal);
      }
    }
    if (sub === 'check') {
      out(JSON.stringify(await checkModel(env, rest[0])));
      return 0;
    }
    err(`usage:\n  ${MODELS_USAGE.join('\n  ')}`);
    return 2;
  } catch (error) {
    if (error instanceof PullError) {
      err(`answerdesk models: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
