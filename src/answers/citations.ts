// Citations: map the passage numbers the model cited to chunks, and the `links` suffix.
import type { Provenance } from './model.ts';

export type CitablePassage = { chunkId: string; url: string | null };

/** The cited passages, in order of first citation, ignoring numbers outside 1..n. */
export function citedPassages<T extends CitablePassage>(
  cited: readonly number[],
  passages: readonly T[],
): T[] {
  const out: T[] = [];
  for (const n of cited) {
    const passage = passages[n - 1];
    if (passage && !out.includes(passage)) out.push(passage);
  }
  return out;
}

/**
 * With `links`, the text appended to the reply: the distinct URLs of the cited passages, one a line
 * (passages without a URL, such as Q&A or pasted text, add nothing). Empty when there is none.
 */
export function citationSuffix(mode: 'none' | 'links', cited: readonly CitablePassage[]): string {
  if (mode === 'none') return '';
  const urls = [...new Set(cited.map((p) => p.url).filter((u): u is string => Boolean(u)))];
  return urls.length === 0 ? '' : `\n\n${urls.join('\n')}`;
}

/** The cite stage's part of the provenance, and the text it adds to the reply. */
export type CitePart = Pick<Provenance, 'citedChunkIds'> & { suffix: string };

/** The cite stage: the passages the reply cited (by number), and the `links` suffix for them. */
export function citeStage(
  mode: 'none' | 'links',
  cited: readonly number[],
  passages: readonly CitablePassage[],
): CitePart {
  const found = citedPassages(cited, passages);
  return { citedChunkIds: found.map((p) => p.chunkId), suffix: citationSuffix(mode, found) };
}
