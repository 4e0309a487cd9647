// Appending chunks of new sources in bounded slices, so that a bulk load never holds more than one
// slice's Arrow buffers and LanceDB write buffers at a time.
import type * as lancedb from '@lancedb/lancedb';
import type * as arrow from 'apache-arrow';
import { nextTurn } from '../next-turn.ts';
import type { ChunkRow } from './chunk-arrow.ts';
import { sqlString } from './replace.ts';

/** Vectors of rows, in order (null for a row without one), or none when the table has no vector column. */
type Vectors = (Float32Array | null)[] | undefined;

/**
 * Rows per append write. Each write's Arrow columns, its IPC copies and LanceDB's buffers are
 * garbage the moment it is committed; with 5,000-row writes they piled up faster than they were
 * collected and a 100k-chunk bulk load peaked at ~500 MiB in the ingest alone, with 1,000-row
 * writes at ~270–320 MiB and about as fast (docs/notes/knowledge.md "Writer memory"). It also
 * bounds the vectors in one write (1,000 × 1,536 dims × 4 bytes = 6 MB), which the character
 * bound of a slice does not count.
 */
export const APPEND_SLICE_ROWS = 1_000;

/** `[start, end)` ranges of `rows` of at most `maxRows` rows and about `maxChars` characters. */
export function appendSlices(rows: ChunkRow[], maxChars: number, maxRows: number) {
  const out: [number, number][] = [];
  let start = 0;
  let chars = 0;
  rows.forEach((r, i) => {
    chars += r.text.length + r.searchText.length;
    if (chars >= maxChars || i + 1 - start >= maxRows || i === rows.length - 1) {
      out.push([start, i + 1]);
      start = i + 1;
      chars = 0;
    }
  });
  return out;
}

/** The filter of every row of the sources of `rows`. */
function sourcesOf(rows: ChunkRow[]): string {
  const byChatbot = new Map<string, Set<string>>();
  for (const r of rows) {
    const ids = byChatbot.get(r.chatbotId) ?? new Set<string>();
    ids.add(r.sourceId);
    byChatbot.set(r.chatbotId, ids);
  }
  return [...byChatbot]
    .map(
      ([chatbotId, ids]) =>
        `(chatbot_id = ${sqlString(chatbotId)} AND source_id IN (${[...ids].map(sqlString).join(', ')}))`,
    )
    .join(' OR ');
}

/**
 * Appends `rows` (chunks of sources that have none yet) slice by slice, one commit per slice,
 * with the event loop free between slices. If a slice fails, the rows of those sources written
 * so far are deleted again; if that delete fails too (the disk refuses it), they stay until their
 * sources' chunks are replaced or deleted (their sources are marked failed: bulk.ts).
 */
export async function appendInSlices(
  table: lancedb.Table,
  rows: ChunkRow[],
  vectors: Vectors,
  parts: [number, number][],
  toArrow: (rows: ChunkRow[], vectors: Vectors) => arrow.Table,
): Promise<void> {
  let written = 0;
  try {
    for (const [start, end] of parts) {
      await table.add(toArrow(rows.slice(start, end), vectors?.slice(start, end)));
      written = end;
      if (end < rows.length) await nextTurn();
    }
  } catch (e) {
    // The append's own error is the one to report; a failed rollback is said above.
    if (written > 0) await table.delete(sourcesOf(rows.slice(0, written))).catch(() => {});
    throw e;
  }
}
