// Configuration: the environment parsed once at start with valibot; bad keys fail fast.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as v from 'valibot';
import { PriceTable } from './llm/prices.ts';

const int = (fallback: number, min: number, max: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.trim(),
    v.regex(/^-?\d+$/, 'must be an integer'),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

const optionalInt = (min: number, max: number) =>
  v.pipe(
    v.optional(v.string(), ''),
    v.trim(),
    v.regex(/^(-?\d+)?$/, 'must be an integer or empty'),
    v.transform((s) => (s === '' ? null : Number(s))),
    v.nullable(v.pipe(v.number(), v.minValue(min), v.maxValue(max))),
  );

const bool = (fallback: boolean) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.trim(),
    v.toLowerCase(),
    v.picklist(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false'),
    v.transform((s) => s === 'true' || s === '1' || s === 'yes'),
  );

const httpUrl = (fallback?: string) =>
  v.pipe(
    fallback === undefined ? v.optional(v.string()) : v.optional(v.string(), fallback),
    v.transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim())),
    v.optional(
      v.pipe(
        v.string(),
        v.url('must be an absolute http(s) URL'),
        v.regex(/^https?:\/\//i, 'must be an absolute http(s) URL'),
        v.transform((s) => s.replace(/\/+$/, '')),
      ),
    ),
  );

const secret = v.pipe(
  v.optional(v.string()),
  v.transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim())),
  v.optional(v.pipe(v.string(), v.minLength(16, 'must be at least 16 characters'))),
);

const optionalString = v.pipe(
  v.optional(v.string()),
  v.transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim())),
);

/** Every environment key answerdesk reads, with its default. `.env.example` mirrors this list. */
export const EnvSchema = v.object({
  PORT: int(3000, 0, 65535),
  HOST: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1)), '0.0.0.0'),
  DATA_DIR: optionalString,
  ADMIN_TOKEN: secret,
  SECRET_KEY: secret,
  PUBLIC_URL: httpUrl(),
  GROQ_API_KEY: optionalString,
  GROQ_BASE_URL: httpUrl('https://api.groq.com'),
  GROQ_MODEL: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1)), 'openai/gpt-oss-20b'),
  CRISP_API_URL: httpUrl('https://api.crisp.chat'),
  EMBEDDING_PROVIDER: v.optional(
    v.picklist(['none', 'local', 'openai'], 'must be none, local or openai'),
  ),
  EMBEDDING_MODEL: optionalString,
  EMBEDDING_BASE_URL: httpUrl(),
  EMBEDDING_API_KEY: optionalString,
  /** With EMBEDDING_PROVIDER unset and no model installed, pull the default model at start (src/models/auto-pull.ts). */
  MODEL_AUTO_PULL: bool(true),
  /** The Hugging Face-style hub (or mirror) models are pulled from: at start and by `models pull`. */
  MODEL_HUB_URL: httpUrl('https://huggingface.co'),
  LOG_LEVEL: v.optional(
    v.picklist(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'must be one of fatal, error, warn, info, debug, trace, silent',
    ),
    'info',
  ),
  ALLOW_PRIVATE_URLS: bool(false),
  /** Largest JSON body the admin API accepts. */
  BODY_LIMIT_BYTES: int(1_048_576, 1024, 100 * 1_048_576),
  /** Largest uploaded source file. */
  UPLOAD_LIMIT_BYTES: int(25 * 1_048_576, 1024, 1024 * 1_048_576),
  /** URL and sitemap sources: per-request timeout and largest page read. */
  FETCH_TIMEOUT_MS: int(15_000, 100, 600_000),
  FETCH_MAX_BYTES: int(5 * 1_048_576, 1024, 100 * 1_048_576),
  /** Sitemap crawls: least gap between two requests to the site, and requests at once. */
  CRAWL_DELAY_MS: int(250, 0, 60_000),
  CRAWL_CONCURRENCY: int(2, 1, 8),
  /** Document extraction (PDF, DOCX, HTML) in its own process: time and memory per document, processes at once. */
  EXTRACT_TIMEOUT_MS: int(60_000, 100, 3_600_000),
  EXTRACT_MEMORY_LIMIT_MB: int(1_024, 64, 65_536),
  EXTRACT_CONCURRENCY: int(1, 1, 8),
  /** Limits of the default plan (empty = unlimited). */
  DEFAULT_MONTHLY_MESSAGES: optionalInt(0, 1_000_000_000),
  DEFAULT_DAILY_MESSAGES: optionalInt(0, 1_000_000_000),
  /** Jobs the worker runs at once (across conversations). */
  WORKER_CONCURRENCY: int(4, 1, 64),
  /** Visitor messages of one Crisp conversation within this window are answered once, together. */
  CRISP_BURST_WINDOW_MS: int(2_000, 0, 60_000),
  /** Timeout of one Crisp REST call. */
  CRISP_TIMEOUT_MS: int(10_000, 100, 120_000),
  /** A Crisp reply that could only be posted later than this after the visitor wrote is dropped. */
  CRISP_MAX_REPLY_AGE_MINUTES: int(30, 1, 1_440),
  /** Refuse signed webhooks whose X-Crisp-Request-Timestamp is further off than this; 0 = off. */
  CRISP_SIGNATURE_MAX_AGE_SECONDS: int(0, 0, 7 * 86_400),
  LLM_FIRST_TOKEN_TIMEOUT_MS: int(10_000, 100, 600_000),
  LLM_TOTAL_TIMEOUT_MS: int(30_000, 100, 600_000),
  /** How often /readyz's LLM check lists the endpoint's models (and once at start); 0 = at start only. */
  LLM_PROBE_INTERVAL_SECONDS: int(300, 0, 86_400),
  /** JSON `{"<model>": {"input": usd, "output": usd}}` per million tokens, merged over the built-in table. */
  LLM_PRICES: v.pipe(
    v.optional(v.string(), ''),
    v.trim(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      if (dataset.value === '') return {};
      try {
        const parsed = v.safeParse(PriceTable, JSON.parse(dataset.value));
        if (parsed.success) return parsed.output;
      } catch {}
      addIssue({ message: 'must be JSON like {"model": {"input": 0.1, "output": 0.3}}' });
      return NEVER;
    }),
  ),
  /** Cold-started LanceDB native pool size; see docs/notes/stack.md §1. */
  LANCE_CPU_THREADS: int(2, 1, 256),
});

export type Env = v.InferOutput<typeof EnvSchema>;

export type Config = Readonly<
  Omit<Env, 'DATA_DIR' | 'ADMIN_TOKEN' | 'SECRET_KEY' | 'PUBLIC_URL' | 'EMBEDDING_PROVIDER'> & {
    DATA_DIR: string;
    ADMIN_TOKEN: string;
    SECRET_KEY: string;
    PUBLIC_URL: string;
    EMBEDDING_PROVIDER: 'none' | 'local' | 'openai';
    /** Whether EMBEDDING_PROVIDER was set, or follows what DATA_DIR/models holds (the auto-pull needs to know). */
    embeddingProviderSource: 'env' | 'default';
    /** Where the admin token came from: the environment, or a file in DATA_DIR. */
    adminTokenSource: 'env' | 'file';
    adminTokenFile: string;
  }
>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: { key: string; message: string }[]) {
    super(`BAD_ENVIRONMENT: ${problems.map((p) => `${p.key} ${p.message}`).join('; ')}`);
  }
}

/** Parses the environment; throws ConfigError naming every bad key (never their values). */
export function parseEnv(env: Record<string, string | undefined>): Env {
  const result = v.safeParse(EnvSchema, env);
  if (result.success) return result.output;
  const byKey = new Map<string, string>();
  for (const issue of result.issues) {
    const key = String(issue.path?.[0]?.key ?? 'environment');
    if (!byKey.has(key)) byKey.set(key, issue.message);
  }
  throw new ConfigError([...byKey].map(([key, message]) => ({ key, message })));
}

/** True inside a `bun build --compile` executable, whose modules live in a virtual /$bunfs. */
export const isCompiled = () => import.meta.path.includes('$bunfs');

/**
 * The data directory: DATA_DIR when set; otherwise ./data, except that the compiled binary
 * uses `<dir of executable>/data` when ./data is absent, so it works from any directory.
 */
export function resolveDataDir(value: string | undefined, cwd = process.cwd()): string {
  if (value) return resolve(cwd, value);
  const local = resolve(cwd, 'data');
  if (!isCompiled() || existsSync(local)) return local;
  return join(dirname(process.execPath), 'data');
}

/**
 * Reads a generated secret from `file`, creating it (mode 0600) on first start; a copy that others
 * may read is narrowed to 0600. An unusable file (under 16 characters) is replaced, unless
 * `keepExisting` names the key: the secret key's file is never replaced, since the Crisp
 * credentials sealed with it could no longer be opened.
 */
function fileSecret(file: string, keepExisting?: 'SECRET_KEY'): string {
  if (existsSync(file)) {
    const value = readFileSync(file, 'utf8').trim();
    if (value.length >= 16) {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      return value;
    }
    if (keepExisting) {
      throw new ConfigError([
        {
          key: keepExisting,
          message: `is unset and ${file} holds no usable key (under 16 characters): restore that file, or delete it to generate a new key (Crisp connections must then be made again)`,
        },
      ]);
    }
  }
  const value = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return value;
}

/** Parses the environment and resolves the data dir and generated secrets. */
export function loadConfig(env: Record<string, string | undefined> = Bun.env): Config {
  const parsed = parseEnv(env);
  const dataDir = resolveDataDir(parsed.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const adminTokenFile = join(dataDir, 'admin-token');
  const modelsDir = join(dataDir, 'models');
  const hasLocalModel =
    existsSync(modelsDir) &&
    new Bun.Glob('*/config.json').scanSync(modelsDir).next().done === false;
  return Object.freeze({
    ...parsed,
    DATA_DIR: dataDir,
    ADMIN_TOKEN: parsed.ADMIN_TOKEN ?? fileSecret(adminTokenFile),
    SECRET_KEY: parsed.SECRET_KEY ?? fileSecret(join(dataDir, 'secret-key'), 'SECRET_KEY'),
    PUBLIC_URL: parsed.PUBLIC_URL ?? `http://localhost:${parsed.PORT}`,
    EMBEDDING_PROVIDER: parsed.EMBEDDING_PROVIDER ?? (hasLocalModel ? 'local' : 'none'),
    embeddingProviderSource: parsed.EMBEDDING_PROVIDER ? 'env' : 'default',
    adminTokenSource: parsed.ADMIN_TOKEN ? 'env' : 'file',
    adminTokenFile,
  });
}
