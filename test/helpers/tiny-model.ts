// Generates a tiny but valid BERT-style embedding model directory (ONNX graph + WordPiece tokenizer)
// so tests and the binary check can load a model through the production path with no hub access.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// A minimal protobuf writer: just the wire types the ONNX schema needs (varint, length-delimited,
// fixed32). Field numbers below are from onnx/onnx.proto (ModelProto, GraphProto, NodeProto, ...).
// ---------------------------------------------------------------------------------------------

class ProtoWriter {
  private chunks: Uint8Array[] = [];

  private varint(value: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    while (n >= 0x80n) {
      bytes.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    bytes.push(Number(n));
    this.chunks.push(Uint8Array.from(bytes));
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.chunks.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const buf = new Uint8Array(4);
    new DataView(buf.buffer).setFloat32(0, value, true);
    this.chunks.push(buf);
    return this;
  }

  finish(): Uint8Array {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

const DataType = { FLOAT: 1, INT64: 7 } as const;
const AttributeType = { INT: 2 } as const;

type Tensor = { name: string; dims: number[]; dataType: number; raw: Uint8Array };
type Node = { op: string; inputs: string[]; outputs: string[]; ints?: Record<string, number> };
type ValueInfo = { name: string; elemType: number; shape: (number | string)[] };

function writeTensor(w: ProtoWriter, t: Tensor): void {
  for (const d of t.dims) w.int(1, d); // dims
  w.int(2, t.dataType); // data_type
  w.string(8, t.name); // name
  w.bytes(9, t.raw); // raw_data (little-endian)
}

function writeValueInfo(w: ProtoWriter, info: ValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    // TypeProto.tensor_type
    type.message(1, (tensor) => {
      tensor.int(1, info.elemType);
      tensor.message(2, (shape) => {
        for (const d of info.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function encodeModel(graph: {
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8); // ir_version 8 (ONNX 1.13+)
  w.string(2, 'answerdesk-tiny-model'); // producer_name
  w.message(7, (g) => {
    graph.nodes.forEach((node, i) => {
      g.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(3, `${node.op.toLowerCase()}_${i}`);
        n.string(4, node.op);
        for (const [name, value] of Object.entries(node.ints ?? {})) {
          n.message(5, (a) => a.string(1, name).int(3, value).int(20, AttributeType.INT));
        }
      });
    });
    g.string(2, 'tiny_bert');
    for (const t of graph.initializers) g.message(5, (m) => writeTensor(m, t));
    for (const i of graph.inputs) g.message(11, (m) => writeValueInfo(m, i));
    for (const o of graph.outputs) g.message(12, (m) => writeValueInfo(m, o));
  });
  w.message(8, (o) => o.string(1, '').int(2, 13)); // opset_import: default domain, opset 13
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Deterministic weights and the vocabulary.
// ---------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every generated model is byte-identical. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORDS = (
  'the a an and or of to in on for with is are was be it this that you your we our i my can how ' +
  'what when where why who do does not no yes please help thanks hello hi order orders shipping ship ' +
  'delivery deliver refund refunds return returns price prices pricing cost plan plans account ' +
  'password reset login email support team hours open close closed weekend monday friday payment ' +
  'card invoice cancel subscription days time free store product products warranty size color ' +
  'track tracking package international country europe weather rain sunny cat dog football ' +
  'guitar music pizza recipe mountain river'
).split(' ');
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const PUNCTUATION = '.,!?\'"-:;()/&@#$%*+='.split('');

/** The WordPiece vocabulary: specials, whole words, then single characters and `##` pieces. */
export function tinyVocab(): string[] {
  return [...SPECIAL, ...WORDS, ...LETTERS, ...PUNCTUATION, ...LETTERS.map((c) => `##${c}`)];
}

function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function int64Bytes(values: number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
}

/**
 * The ONNX graph: `last_hidden_state = (Gather(words, input_ids) + Gather(types, token_type_ids))
 * * attention_mask`, shaped [batch, sequence, dimension] like a BERT encoder's output. Random,
 * nearly orthogonal word vectors make mean-pooled texts that share words point the same way.
 */
export function tinyOnnxModel(vocabSize: number, dimension: number, seed = 42): Uint8Array {
  const random = prng(seed);
  const words = new Float32Array(vocabSize * dimension);
  for (let i = 0; i < words.length; i++) words[i] = random() * 2 - 1;
  // Specials ([CLS], [SEP], …) sit in every text: keep them small so shared words dominate.
  for (let i = 0; i < SPECIAL.length * dimension; i++) words[i] = (words[i] ?? 0) * 0.05;
  const types = new Float32Array(2 * dimension);
  for (let i = 0; i < types.length; i++) types[i] = (random() * 2 - 1) * 0.01;
  const batchSeq = ['batch_size', 'sequence_length'];
  return encodeModel({
    nodes: [
      {
        op: 'Gather',
        inputs: ['word_embeddings', 'input_ids'],
        outputs: ['words'],
        ints: { axis: 0 },
      },
      {
        op: 'Gather',
        inputs: ['token_type_embeddings', 'token_type_ids'],
        outputs: ['types'],
        ints: { axis: 0 },
      },
      { op: 'Add', inputs: ['words', 'types'], outputs: ['embedded'] },
      {
        op: 'Cast',
        inputs: ['attention_mask'],
        outputs: ['mask_float'],
        ints: { to: DataType.FLOAT },
      },
      { op: 'Unsqueeze', inputs: ['mask_float', 'last_axis'], outputs: ['mask_3d'] },
      { op: 'Mul', inputs: ['embedded', 'mask_3d'], outputs: ['last_hidden_state'] },
    ],
    initializers: [
      {
        name: 'word_embeddings',
        dims: [vocabSize, dimension],
        dataType: DataType.FLOAT,
        raw: float32Bytes(words),
      },
      {
        name: 'token_type_embeddings',
        dims: [2, dimension],
        dataType: DataType.FLOAT,
        raw: float32Bytes(types),
      },
      { name: 'last_axis', dims: [1], dataType: DataType.INT64, raw: int64Bytes([2]) },
    ],
    inputs: [
      { name: 'input_ids', elemType: DataType.INT64, shape: batchSeq },
      { name: 'attention_mask', elemType: DataType.INT64, shape: batchSeq },
      { name: 'token_type_ids', elemType: DataType.INT64, shape: batchSeq },
    ],
    outputs: [
      {
        name: 'last_hidden_state',
        elemType: DataType.FLOAT,
        shape: [...batchSeq, dimension],
      },
    ],
  });
}

/** A BERT WordPiece `tokenizer.json` (Hugging Face tokenizers format) over `vocab`. */
export function tinyTokenizerJson(vocab: string[]) {
  const id = (token: string) => vocab.indexOf(token);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i])),
    },
  };
}

export type TinyModelOptions = {
  /** Vector length of the model's output. */
  dimension?: number;
  /** Weight seed: two seeds give two different vector spaces. */
  seed?: number;
  /** `quantized` writes onnx/model_quantized.onnx (the file name dtype q8 loads), else model.onnx. */
  onnxFile?: 'model.onnx' | 'model_quantized.onnx';
};

/** The files of a tiny model directory, by relative path (the Hugging Face repo layout). */
export function tinyModelFiles(options: TinyModelOptions = {}): Record<string, Uint8Array> {
  const { dimension = 32, seed = 42, onnxFile = 'model.onnx' } = options;
  const vocab = tinyVocab();
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  return {
    'config.json': json({
      architectures: ['BertModel'],
      model_type: 'bert',
      hidden_size: dimension,
      num_hidden_layers: 1,
      num_attention_heads: 1,
      intermediate_size: dimension,
      max_position_embeddings: 512,
      type_vocab_size: 2,
      vocab_size: vocab.length,
      pad_token_id: 0,
    }),
    'tokenizer.json': json(tinyTokenizerJson(vocab)),
    'tokenizer_config.json': json({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 512,
      clean_up_tokenization_spaces: true,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
    }),
    'special_tokens_map.json': json({
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
    }),
    '1_Pooling/config.json': json({
      word_embedding_dimension: dimension,
      pooling_mode_cls_token: false,
      pooling_mode_mean_tokens: true,
    }),
    [`onnx/${onnxFile}`]: tinyOnnxModel(vocab.length, dimension, seed),
  };
}

/** Writes a tiny model into `dir` (created) and returns each file's sha256, by relative path. */
export function writeTinyModel(
  dir: string,
  options: TinyModelOptions = {},
): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const [path, data] of Object.entries(tinyModelFiles(options))) {
    const file = join(dir, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, data);
    sums[path] = createHash('sha256').update(data).digest('hex');
  }
  return sums;
}
