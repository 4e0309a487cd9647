// A model directory under DATA_DIR/models: what it holds and how to use it (pooling, prefixes),
// from the manifest `models pull` writes, or inferred for a directory copied in by hand.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as v from 'valibot';
import { findCatalogModel, type Pooling } from './catalog.ts';

/** Written by `models pull` into the model directory. */
export const MANIFEST_FILE = 'answerdesk-model.json';

export const ManifestSchema = v.object({
  name: v.string(),
  repo: v.optional(v.string()),
  revision: v.optional(v.string()),
  pooling: v.picklist(['mean', 'cls']),
  queryPrefix: v.string(),
  passagePrefix: v.string(),
  dimension: v.optional(v.number()),
  /** sha256 and size of every file, as verified at pull time. */
  files: v.record(v.string(), v.object({ sha256: v.string(), bytes: v.number() })),
  /** `pinned`: every checksum came from the catalog; `first-use`: some were recorded on pull. */
  trust: v.picklist(['pinned', 'first-use']),
  pulledAt: v.string(),
});

export type Manifest = v.InferOutput<typeof ManifestSchema>;

/** The ONNX files transformers.js can load, in order of preference, with the dtype that names them. */
const ONNX_FILES = [
  { file: 'onnx/model_quantized.onnx', dtype: 'q8' },
  { file: 'onnx/model.onnx', dtype: 'fp32' },
] as const;

export type ModelDirInfo = {
  name: string;
  dir: string;
  onnxFile: string;
  dtype: 'q8' | 'fp32';
  pooling: Pooling;
  queryPrefix: string;
  passagePrefix: string;
  /** Vector length when the directory says so; the loaded model is the final word. */
  dimension: number | null;
  bytes: number;
  manifest: Manifest | null;
};

export type ModelDirResult = { ok: true; info: ModelDirInfo } | { ok: false; problem: string };

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readManifest(dir: string): Manifest | null {
  const parsed = v.safeParse(ManifestSchema, readJson(join(dir, MANIFEST_FILE)));
  return parsed.success ? parsed.output : null;
}

/** Total size of the files under `dir`. */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** Relative paths of every file under `dir`, sorted. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const PoolingConfigSchema = v.object({
  word_embedding_dimension: v.optional(v.number()),
  pooling_mode_cls_token: v.optional(v.boolean()),
  pooling_mode_mean_tokens: v.optional(v.boolean()),
});

/**
 * Usage of a model without a manifest: the catalog entry of the same name, else the
 * sentence-transformers `1_Pooling/config.json`, else the model family guessed from the name.
 */
function inferUsage(name: string, dir: string) {
  const known = findCatalogModel(name);
  if (known) {
    const { pooling, queryPrefix, passagePrefix, dimension } = known;
    return { pooling, queryPrefix, passagePrefix, dimension };
  }
  const e5 = /(^|[^a-z])e5([^a-z]|$)/i.test(name);
  const prefixes = e5
    ? { queryPrefix: 'query: ', passagePrefix: 'passage: ' }
    : { queryPrefix: '', passagePrefix: '' };
  const pooling = v.safeParse(PoolingConfigSchema, readJson(join(dir, '1_Pooling', 'config.json')));
  if (
    pooling.success &&
    (pooling.output.pooling_mode_cls_token || pooling.output.pooling_mode_mean_tokens)
  ) {
    return {
      pooling: (pooling.output.pooling_mode_cls_token ? 'cls' : 'mean') as Pooling,
      ...prefixes,
      dimension: pooling.output.word_embedding_dimension ?? null,
    };
  }
  return { pooling: (/bge/i.test(name) ? 'cls' : 'mean') as Pooling, ...prefixes, dimension: null };
}

/** Checks that `DATA_DIR/models/<name>` is a loadable model directory and says how to use it. */
export function inspectModelDir(modelsDir: string, name: string): ModelDirResult {
  const dir = join(modelsDir, name);
  if (!existsSync(dir)) return { ok: false, problem: `no model directory at ${dir}` };
  const missing = ['config.json', 'tokenizer.json', 'tokenizer_config.json'].filter(
    (f) => !existsSync(join(dir, f)),
  );
  const onnx = ONNX_FILES.find((o) => existsSync(join(dir, o.file)));
  if (!onnx) missing.push('onnx/model_quantized.onnx or onnx/model.onnx');
  if (missing.length > 0 || !onnx) {
    return { ok: false, problem: `model directory ${dir} lacks ${missing.join(', ')}` };
  }
  const manifest = readManifest(dir);
  const usage = manifest
    ? {
        pooling: manifest.pooling,
        queryPrefix: manifest.queryPrefix,
        passagePrefix: manifest.passagePrefix,
        dimension: manifest.dimension ?? null,
      }
    : inferUsage(name, dir);
  let dimension = usage.dimension;
  if (dimension === null) {
    const config = readJson(join(dir, 'config.json'));
    const hidden = (config as { hidden_size?: unknown } | undefined)?.hidden_size;
    dimension = typeof hidden === 'number' ? hidden : null;
  }
  return {
    ok: true,
    info: {
      name,
      dir,
      onnxFile: onnx.file,
      dtype: onnx.dtype,
      ...usage,
      dimension,
      bytes: directoryBytes(dir),
      manifest,
    },
  };
}

/** Names of the subdirectories of `modelsDir` that hold a `config.json` (installed models). */
export function installedModelNames(modelsDir: string): string[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .filter((e) => existsSync(join(modelsDir, e.name, 'config.json')))
    .map((e) => e.name)
    .sort();
}
