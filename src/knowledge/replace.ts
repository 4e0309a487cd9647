// Replacing a source's chunks in one step readers can see, whatever the source's size.
import type * as lancedb from '@lancedb/lancedb';
import type * as arrow from 'apache-arrow';
import { nextTurn } from '../next-turn.ts';
import type { ChunkRow } from './chunk-arrow.ts';

/** Vectors of rows, in order (null for a row without one), or none when the table has no vector column. */
type Vectors = (Float32Array | null)[] | undefined;

/**
 * Characters (text and search text) per write. Each write is turned into Arrow and serialised on
 * the service's thread: ~1 M characters take 10–30 ms, while a 20-million-character document
 * written at once held the thread for 0.4–0.7 s.
 */
export const WRITE_SLICE_CHARS = 1_000_000;

/**
 * Chatbot ids of rows no search sees (every search filters on a chatbot id, and ours never start
 * with `~`): a large replace stages its new rows under `~staged:<id>` and swaps them in with one
 * update that moves the old rows to `~replaced:<id>`.
 */
const STAGED = '~staged:';
const REPLACED = '~replaced:';

/** Rows a crash left staged or replaced (deleted when the index opens). */
export const UNSEEN_ROWS = "chatbot_id LIKE '~%'";

/** Quotes a value as an SQL string literal for LanceDB filters (a quote is doubled). */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** The filter of one source's rows. */
export const sourceScope = (chatbotId: string, sourceId: string) =>
  `chatbot_id = ${sqlString(chatbotId)} AND source_id = ${sqlString(sourceId)}`;

/** `[start, end)` ranges of `rows` of about `maxChars` characters of text and search text. */
export function slices(rows: ChunkRow[], maxChars: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  let chars = 0;
  rows.forEach((r, i) => {
    chars += r.text.length + r.searchText.length;
    if (chars >= maxChars || i === rows.length - 1) {
      out.push([start, i + 1]);
      start = i + 1;
      chars = 0;
    }
  });
  return out;
}

/**
 * Replaces a source's rows with `rows`, written slice by slice with the event loop free between
 * slices, under a chatbot id no search sees; then one update (one commit) gives the staged rows
 * the chatbot's id and the old rows `~replaced:<id>`, and those are deleted. Readers see the old
 * chunks or the new ones, never both and never neither. On failure the staged rows are removed
 * and the old chunks stay.
 */
export async function stagedReplace(
  table: lancedb.Table,
  scope: { chatbotId: string; sourceId: string },
  rows: ChunkRow[],
  vectors: Vectors,
  parts: [number, number][],
  toArrow: (rows: ChunkRow[], vectors: Vectors) => arrow.Table,
): Promise<void> {
  const { chatbotId, sourceId } = scope;
  const staged = `${STAGED}${chatbotId}`;
  try {
    for (const [start, end] of parts) {
      const slice = rows.slice(start, end).map((r) => ({ ...r, chatbotId: staged }));
      await table.add(toArrow(slice, vectors?.slice(start, end)));
      await nextTurn();
    }
    await table.update({
      where: `source_id = ${sqlString(sourceId)} AND (chatbot_id = ${sqlString(chatbotId)} OR chatbot_id = ${sqlString(staged)})`,
      // Old rows: `~replaced:<id>`; staged rows: `~replaced:~staged:<id>` loses that prefix.
      valuesSql: {
        chatbot_id: `replace(concat('${REPLACED}', chatbot_id), '${REPLACED}${STAGED}', '')`,
      },
    });
  } catch (e) {
    await table.delete(sourceScope(staged, sourceId)).catch(() => {});
    throw e;
  }
  await table.delete(sourceScope(`${REPLACED}${chatbotId}`, sourceId));
}
