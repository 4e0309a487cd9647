// Local embeddings: transformers.js feature extraction on onnxruntime-node (CPU) over a model
// directory in DATA_DIR/models. Remote loading is off: a missing file is an error, never a download.
import { ConfigError } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { DEFAULT_MODEL } from '../models/catalog.ts';
import { inspectModelDir, type ModelDirInfo } from '../models/model-dir.ts';
import { prepareOnnxRuntime } from './onnx-runtime.ts';
import type { Embedder, EmbedKind } from './types.ts';

/** Texts per forward pass: big enough to amortise the call, small enough to bound padding waste. */
export const LOCAL_BATCH_SIZE = 16;

export type LocalEmbedderOptions = {
  modelsDir: string;
  model: string;
  log: Logger;
  batchSize?: number;
};

type FeatureExtractor = (
  texts: string[],
  options: { pooling: 'mean' | 'cls'; normalize: boolean },
) => Promise<{ dims: number[]; data: Float32Array | ArrayLike<number> }>;

/** Tells how to provide the model, for a start-up error a person will read. */
export function missingModelMessage(modelsDir: string, model: string, problem: string): string {
  return (
    `${problem}. Provide a model: run \`answerdesk models pull ${model}\` on a machine with ` +
    `internet access (then copy ${modelsDir}/${model} here if that was another machine), or copy ` +
    `a Hugging Face model directory (config.json, tokenizer.json, tokenizer_config.json, ` +
    `onnx/model_quantized.onnx or onnx/model.onnx) into ${modelsDir}/${model}`
  );
}

export class LocalEmbedder implements Embedder {
  readonly provider = 'local' as const;
  /** Serialises forward passes: on a small CPU, concurrent runs only fight for the same cores. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly model: string,
    readonly dimension: number,
    readonly info: ModelDirInfo,
    private readonly extract: FeatureExtractor,
    private readonly batchSize: number,
    /** How long loading took (ms), for the start-up log and /readyz. */
    readonly loadMs: number,
  ) {}

  /**
   * Loads the model once (tokenizer, ONNX session) and embeds a probe to learn the dimension.
   * Throws ConfigError naming the directory when the model is missing or incomplete.
   */
  static async load(options: LocalEmbedderOptions): Promise<LocalEmbedder> {
    const { modelsDir, model, log } = options;
    const inspected = inspectModelDir(modelsDir, model);
    if (!inspected.ok) {
      throw new ConfigError([
        {
          key: 'EMBEDDING_MODEL',
          message: missingModelMessage(modelsDir, model, inspected.problem),
        },
      ]);
    }
    const info = inspected.info;
    const started = performance.now();
    await prepareOnnxRuntime();
    const transformers = await import('@huggingface/transformers');
    const { env } = transformers;
    // Run time never downloads (docs/notes/contract.md, embeddings): only files already in DATA_DIR/models are read.
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = modelsDir;
    env.useFSCache = false;
    env.useBrowserCache = false;
    // Belt and braces: if anything still tried the network, it fails loudly instead.
    env.fetch = () => Promise.reject(new Error('answerdesk: remote model loading is disabled'));
    env.logLevel = transformers.LogLevel.ERROR;
    let extract: FeatureExtractor;
    try {
      const pipe = await transformers.pipeline('feature-extraction', model, {
        dtype: info.dtype,
        device: 'cpu',
        local_files_only: true,
      });
      extract = pipe as unknown as FeatureExtractor;
    } catch (cause) {
      throw new ConfigError([
        {
          key: 'EMBEDDING_MODEL',
          message: `the model in ${info.dir} failed to load: ${cause instanceof Error ? cause.message : String(cause)}`,
        },
      ]);
    }
    const probe = await extract(['dimension probe'], { pooling: info.pooling, normalize: true });
    const dimension = probe.dims.at(-1) ?? 0;
    if (dimension <= 0) {
      throw new ConfigError([
        { key: 'EMBEDDING_MODEL', message: `the model in ${info.dir} returned no vector` },
      ]);
    }
    const loadMs = Math.round(performance.now() - started);
    log.info(
      { model, dir: info.dir, onnxFile: info.onnxFile, pooling: info.pooling, dimension, loadMs },
      'local embedding model loaded',
    );
    return new LocalEmbedder(
      model,
      dimension,
      info,
      extract,
      options.batchSize ?? LOCAL_BATCH_SIZE,
      loadMs,
    );
  }

  async embed(texts: string[], kind: EmbedKind, signal?: AbortSignal): Promise<Float32Array[]> {
    const prefix = kind === 'query' ? this.info.queryPrefix : this.info.passagePrefix;
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      // A forward pass cannot be interrupted; stop between batches instead.
      signal?.throwIfAborted();
      const batch = texts.slice(start, start + this.batchSize).map((t) => prefix + t);
      const output = await this.run(batch);
      for (let i = 0; i < batch.length; i++) {
        vectors.push(Float32Array.from(output.slice(i * this.dimension, (i + 1) * this.dimension)));
      }
    }
    return vectors;
  }

  private run(batch: string[]): Promise<Float32Array> {
    const result = this.queue.then(async () => {
      try {
        const tensor = await this.extract(batch, { pooling: this.info.pooling, normalize: true });
        return Float32Array.from(tensor.data as ArrayLike<number>);
      } catch (cause) {
        throw new AppError('INTERNAL', 'Local embedding failed', { cause });
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * The model directory to use when EMBEDDING_MODEL is unset: the default model if installed,
 * else the only installed one; undefined when that is ambiguous or there is none.
 */
export function defaultLocalModel(installed: string[]): string | undefined {
  if (installed.includes(DEFAULT_MODEL)) return DEFAULT_MODEL;
  return installed.length === 1 ? installed[0] : undefined;
}
