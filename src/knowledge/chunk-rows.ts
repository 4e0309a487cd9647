// A source's chunks as index rows: stable ids and positions, and the text the full-text index
// and the embedder see for each chunk.
import type { Embedder } from '../embeddings/types.ts';
import { nextTurn } from '../next-turn.ts';
import { type Chunk, chunkId } from './chunk.ts';
import type { ChunkRow } from './chunk-arrow.ts';

/**
 * How many times the document title is repeated in a chunk's indexed text: a cheap field weight
 * (titles say what a page is about, in few words). Measured on the eval sets at document level:
 * title once 0.684 / 0.764 nDCG@10 (scifact / stackfaq), twice 0.689 / 0.775, three times
 * 0.688 / 0.779; two is the best for scifact and close to the best for stackfaq.
 */
export const TITLE_WEIGHT = 2;

/**
 * The text the full-text index sees for a chunk: the document title (TITLE_WEIGHT times, even
 * when the chunk repeats it, as FAQ entries do), the heading path, then the chunk. Title and
 * headings make a chunk findable by what its page is about.
 */
export function searchTextOf(title: string, headingPath: string[], text: string): string {
  const parts: string[] = [];
  const t = title.trim();
  if (t) for (let i = 0; i < TITLE_WEIGHT; i++) parts.push(t);
  const headings = headingPath.filter((h) => h && h !== t);
  if (headings.length > 0) parts.push(headings.join(' > '));
  parts.push(text);
  return parts.join('\n');
}

/** What the embedder sees for a chunk: title (unless the text starts with it), headings, text. */
export function embedTextOf(row: Pick<ChunkRow, 'title' | 'heading' | 'text'>): string {
  const title = row.title.trim();
  return [title && !row.text.startsWith(title) ? title : '', row.heading, row.text]
    .filter(Boolean)
    .join('\n');
}

/** Texts per embedder call. */
export const EMBED_BATCH_SIZE = 64;

/** Passage vectors of `texts`, EMBED_BATCH_SIZE texts per embedder call. */
export async function embedAll(embedder: Embedder, texts: string[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += EMBED_BATCH_SIZE) {
    out.push(...(await embedder.embed(texts.slice(i, i + EMBED_BATCH_SIZE), 'passage')));
  }
  return out;
}

/** One document of a source as the index takes it: title and url (for citations), its chunks. */
export type ChunkedDocument = { title: string; url: string | null; chunks: Chunk[] };

/** Characters of chunk text made into rows between two yields to the event loop (a few ms). */
const ROWS_SLICE_CHARS = 250_000;

/**
 * The index rows of a source's documents, positions numbered across them (a sitemap's pages
 * follow one another). Hashing a 20-million-character document's chunks into ids takes a few
 * hundred ms, so this yields to the event loop between slices of the work.
 */
export async function chunkRows(
  chatbotId: string,
  sourceId: string,
  docs: ChunkedDocument[],
): Promise<ChunkRow[]> {
  const rows: ChunkRow[] = [];
  let sliceChars = 0;
  for (const doc of docs) {
    for (const chunk of doc.chunks) {
      const position = rows.length;
      rows.push({
        id: chunkId(sourceId, position, chunk.text),
        chatbotId,
        sourceId,
        title: doc.title,
        url: doc.url,
        heading: chunk.headingPath.join(' > '),
        position,
        text: chunk.text,
        searchText: searchTextOf(doc.title, chunk.headingPath, chunk.text),
      });
      sliceChars += chunk.text.length;
      if (sliceChars >= ROWS_SLICE_CHARS) {
        sliceChars = 0;
        await nextTurn();
      }
    }
  }
  return rows;
}
