// Chunk rows as Arrow columns, the form LanceDB stores (built column by column), and rows read
// back from LanceDB as chunks.
//
// LanceDB's own conversion takes one JS object per row (and the vector as a JS number array) and
// goes through Arrow's row builders: for a bulk load of 384-dim chunks that held several copies of
// each batch on the JS heap (see the retrieval figures in docs/notes/knowledge.md). Here each
// string column is one UTF-8 buffer plus offsets, and the vectors are one Float32Array.
import * as arrow from 'apache-arrow';
import { type Analysis, prepare, rawTextColumn } from './analysis.ts';

/** One chunk as the index stores it (one row of the LanceDB table). */
export type ChunkRow = {
  id: string;
  chatbotId: string;
  sourceId: string;
  title: string;
  url: string | null;
  /** Heading path joined with " > " ('' when none). */
  heading: string;
  position: number;
  /** The passage shown to the LLM and in search hits. */
  text: string;
  /** What the full-text index sees: title (weighted), heading path and text. */
  searchText: string;
};

/** A chunk as searches and tools read it back (no vector, no search text). */
export type StoredChunk = Omit<ChunkRow, 'searchText' | 'chatbotId'>;

/** The columns a `StoredChunk` is read from (select them: the vector would come back otherwise). */
export const STORED_COLUMNS = ['id', 'source_id', 'title', 'url', 'heading', 'position', 'text'];

/** A row LanceDB returned (with STORED_COLUMNS) as a chunk. */
export function storedChunkOf(r: Record<string, unknown>): StoredChunk {
  return {
    id: String(r.id),
    sourceId: String(r.source_id),
    title: String(r.title ?? ''),
    url: r.url == null ? null : String(r.url),
    heading: String(r.heading ?? ''),
    position: Number(r.position ?? 0),
    text: String(r.text ?? ''),
  };
}

/** The chunks table: text columns, and a fixed-size float vector when an embedder is configured. */
export function chunkSchema(dimension: number | null): arrow.Schema {
  const fields: arrow.Field[] = [
    new arrow.Field('id', new arrow.Utf8(), false),
    new arrow.Field('chatbot_id', new arrow.Utf8(), false),
    new arrow.Field('source_id', new arrow.Utf8(), false),
    new arrow.Field('title', new arrow.Utf8(), false),
    new arrow.Field('url', new arrow.Utf8(), true),
    new arrow.Field('heading', new arrow.Utf8(), false),
    new arrow.Field('position', new arrow.Int32(), false),
    new arrow.Field('text', new arrow.Utf8(), false),
    new arrow.Field('search_text', new arrow.Utf8(), false),
  ];
  if (dimension !== null) {
    fields.push(
      new arrow.Field(
        'vector',
        new arrow.FixedSizeList(dimension, new arrow.Field('item', new arrow.Float32(), true)),
        true,
      ),
    );
  }
  return new arrow.Schema(fields);
}

/** A validity bitmap (bit i set = row i present) and how many rows are null. */
function validity(present: (i: number) => boolean, length: number) {
  const bitmap = new Uint8Array(Math.ceil(length / 8));
  let nulls = 0;
  for (let i = 0; i < length; i++) {
    if (present(i)) bitmap[i >> 3]! |= 1 << (i & 7);
    else nulls++;
  }
  return { bitmap, nulls };
}

const encoder = new TextEncoder();

function utf8Column(values: (string | null)[], nullable: boolean): arrow.Data {
  const offsets = new Int32Array(values.length + 1);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  let bytes = new Uint8Array(values.reduce((n, s) => n + (s?.length ?? 0) * 3, 0));
  let end = 0;
  values.forEach((s, i) => {
    if (s) end += encoder.encodeInto(s, bytes.subarray(end)).written;
    offsets[i + 1] = end;
  });
  bytes = bytes.slice(0, end);
  const { bitmap, nulls } = nullable
    ? validity((i) => values[i] !== null, values.length)
    : { bitmap: undefined, nulls: 0 };
  return arrow.makeData({
    type: new arrow.Utf8(),
    length: values.length,
    nullCount: nulls,
    nullBitmap: nulls > 0 ? bitmap : undefined,
    valueOffsets: offsets,
    data: bytes,
  });
}

function vectorColumn(
  type: arrow.FixedSizeList<arrow.Float32>,
  vectors: (Float32Array | null)[],
): arrow.Data {
  const dimension = type.listSize;
  const flat = new Float32Array(vectors.length * dimension);
  vectors.forEach((v, i) => {
    if (v) flat.set(v, i * dimension);
  });
  const { bitmap, nulls } = validity((i) => vectors[i] != null, vectors.length);
  return arrow.makeData({
    type,
    length: vectors.length,
    nullCount: nulls,
    nullBitmap: nulls > 0 ? bitmap : undefined,
    child: arrow.makeData({ type: new arrow.Float32(), length: flat.length, data: flat }),
  });
}

/**
 * `rows` (with `vectors` when the schema has a vector column: null for a row without one) as one
 * Arrow table in `schema`'s column order. An analyzer column (`fts_…`, analysis-store.ts) holds a
 * row's text as its chatbot's analysis prepares it when that is the row's analysis, else null;
 * `search_text` is then empty unless the analysis changes the text (analysis.ts rawTextColumn).
 */
export function chunkTable(
  schema: arrow.Schema,
  rows: ChunkRow[],
  vectors: (Float32Array | null)[] | undefined,
  analysisOf: (row: ChunkRow) => Analysis | null = () => null,
): arrow.Table {
  const text = (pick: (r: ChunkRow) => string) => utf8Column(rows.map(pick), false);
  const analyses = schema.fields.some((f) => f.name.startsWith('fts_')) ? rows.map(analysisOf) : [];
  // The text is written once: in `search_text` only when it is the row's raw-text column.
  const raw = (i: number) => {
    const a = analyses[i];
    return !a || rawTextColumn(a) === 'search_text';
  };
  const analysed = (column: string) =>
    utf8Column(
      rows.map((r, i) => {
        const a = analyses[i];
        return a?.column === column ? prepare(r.searchText, a) : null;
      }),
      true,
    );
  const columns: Record<string, () => arrow.Data> = {
    id: () => text((r) => r.id),
    chatbot_id: () => text((r) => r.chatbotId),
    source_id: () => text((r) => r.sourceId),
    title: () => text((r) => r.title),
    url: () =>
      utf8Column(
        rows.map((r) => r.url),
        true,
      ),
    heading: () => text((r) => r.heading),
    position: () =>
      arrow.makeData({
        type: new arrow.Int32(),
        length: rows.length,
        data: Int32Array.from(rows, (r) => r.position),
      }),
    text: () => text((r) => r.text),
    search_text: () =>
      utf8Column(
        rows.map((r, i) => (raw(i) ? r.searchText : '')),
        false,
      ),
    vector: () =>
      vectorColumn(
        schema.fields.find((f) => f.name === 'vector')!.type as arrow.FixedSizeList<arrow.Float32>,
        vectors ?? rows.map(() => null),
      ),
  };
  const children = schema.fields.map((f) =>
    f.name.startsWith('fts_') ? analysed(f.name) : columns[f.name]!(),
  );
  const struct = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children,
  });
  return new arrow.Table([new arrow.RecordBatch(schema, struct)]);
}
