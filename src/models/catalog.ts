// The pinned local embedding models `answerdesk models pull` knows: repository, revision, files and
// their sha256, and how each model must be used (pooling, query/passage prefixes).

export type Pooling = 'mean' | 'cls';

export type PinnedFile = {
  /** Path inside the repository and inside the model directory. */
  path: string;
  /** Expected sha256 (hex); null = unknown offline, recorded on first pull (trust on first use). */
  sha256: string | null;
  /** Expected size in bytes when known (a cheap early check before hashing). */
  bytes?: number;
};

export type CatalogModel = {
  /** Directory name under DATA_DIR/models and the value of EMBEDDING_MODEL. */
  name: string;
  /** Hugging Face repository (transformers.js-ready ONNX export). */
  repo: string;
  /** Full commit id: a branch name would let the bytes change under the same name. */
  revision: string;
  files: PinnedFile[];
  pooling: Pooling;
  /** Prepended to queries and passages respectively (the model was trained with them). */
  queryPrefix: string;
  passagePrefix: string;
  dimension: number;
  description: string;
};

/** The model `models pull` installs when no name is given. */
export const DEFAULT_MODEL = 'bge-small-en-v1.5';

/** The model the start-up pull chooses when a chatbot's knowledge is not English (auto-pull.ts). */
export const MULTILINGUAL_MODEL = 'multilingual-e5-small';

/** Where `models pull` downloads from unless MODEL_HUB_URL or `--base-url` names a mirror. */
export const DEFAULT_HUB_URL = 'https://huggingface.co';

// Checksums: taken from several independent public projects that pin these exact files at these
// revisions (they agree with each other); they could not be re-computed here because the hub is
// unreachable from the build machine. See docs/notes/embeddings.md.
export const CATALOG: readonly CatalogModel[] = [
  {
    name: 'bge-small-en-v1.5',
    repo: 'Xenova/bge-small-en-v1.5',
    revision: 'ea104dacec62c0de699686887e3f920caeb4f3e3',
    files: [
      {
        path: 'config.json',
        sha256: 'fa73f90bf92c8cace1fbcb709626306f2bdbc9ea3e5b5f94b440df9b6aa56350',
      },
      {
        path: 'tokenizer.json',
        sha256: 'd241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66',
        bytes: 711_396,
      },
      {
        path: 'tokenizer_config.json',
        sha256: '9261e7d79b44c8195c1cada2b453e55b00aeb81e907a6664974b4d7776172ab3',
        bytes: 366,
      },
      {
        path: 'special_tokens_map.json',
        sha256: 'b6d346be366a7d1d48332dbc9fdf3bf8960b5d879522b7799ddba59e76237ee3',
      },
      {
        path: 'onnx/model_quantized.onnx',
        sha256: '6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4',
        bytes: 34_014_426,
      },
    ],
    // bge is trained with the [CLS] vector as the sentence embedding (BAAI's model card).
    pooling: 'cls',
    // Optional for v1.5, recommended by BAAI for short queries against passages: our case.
    queryPrefix: 'Represent this sentence for searching relevant passages: ',
    passagePrefix: '',
    dimension: 384,
    description: 'English, 384 dimensions, int8 (34 MB)',
  },
  {
    name: 'multilingual-e5-small',
    repo: 'Xenova/multilingual-e5-small',
    revision: '761b726dd34fb83930e26aab4e9ac3899aa1fa78',
    files: [
      {
        path: 'config.json',
        sha256: 'cb99455288675345e1a4f411438d5d0adbba5fbd3a67ea4fb03c015433b996c1',
      },
      {
        path: 'tokenizer.json',
        sha256: '0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39',
        bytes: 17_082_730,
      },
      {
        path: 'tokenizer_config.json',
        sha256: 'a1d6bc8734a6f635dc158508bef000f8e2e5a759c7d92f984b2c86e5ff53425b',
      },
      {
        path: 'special_tokens_map.json',
        sha256: 'd05497f1da52c5e09554c0cd874037a083e1dc1b9cfd48034d1c717f1afc07a7',
      },
      {
        path: 'onnx/model_quantized.onnx',
        sha256: 'f80102d3f2a1229f387d3c81909990d8945513e347b0eab049f7de3c6f98c193',
        bytes: 118_308_185,
      },
    ],
    // e5 is trained with mean pooling and these exact prefixes (intfloat's model card).
    pooling: 'mean',
    queryPrefix: 'query: ',
    passagePrefix: 'passage: ',
    dimension: 384,
    description: '~100 languages, 384 dimensions, int8 (118 MB)',
  },
];

export function findCatalogModel(name: string): CatalogModel | undefined {
  return CATALOG.find((m) => m.name === name);
}

/** Directory names we accept: no path separators, no dot-files, nothing a shell would expand. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
