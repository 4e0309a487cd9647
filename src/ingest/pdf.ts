// PDF text extraction (unpdf's pdf.js build), one page at a time, bounded in pages and text.
import { ExtractError } from './errors.ts';
import { pdfjsPagePlugin } from './pdfjs-patch.ts';

/** Pages a PDF may have; a longer one is refused (split it). */
export const PDF_MAX_PAGES = 5_000;

let patched = false;

/** Loads unpdf with pdf.js patched for flat page trees (see pdfjs-patch.ts). */
async function loadUnpdf() {
  // The binary bundles the patched copy (scripts/build.ts); from source it is patched on load.
  if (!patched && !import.meta.path.includes('$bunfs')) Bun.plugin(pdfjsPagePlugin);
  patched = true;
  return import('unpdf');
}

/** Text of one page: pdf.js items joined, line ends kept, trailing blanks of each line removed. */
function pageText(items: readonly object[]): string {
  let text = '';
  for (const item of items) {
    if (!('str' in item) || typeof item.str !== 'string') continue;
    text += item.str;
    if ('hasEOL' in item && item.hasEOL) text += '\n';
  }
  // Line by line, not /[ \t]+\n/: that regex backtracks quadratically over long runs of blanks.
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

/**
 * Extracts the text of a PDF, pages separated by blank lines, and its `Title` when it has one.
 * Pages are read one after another and released (unpdf's extractText starts them all at once:
 * 20,000 pages took 11 GiB). More than `maxPages` pages (default PDF_MAX_PAGES), or more than
 * `maxTextChars` of text, is refused with the reason.
 */
export async function extractPdfText(
  bytes: Uint8Array,
  limits: { maxTextChars: number; maxPages?: number },
): Promise<{ title: string | null; text: string }> {
  const { maxTextChars, maxPages = PDF_MAX_PAGES } = limits;
  const { getDocumentProxy, getMeta } = await loadUnpdf();
  const pages: string[] = [];
  let title: string | null = null;
  let chars = 0;
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // pdf.js takes ownership of (and may detach) the buffer it is given: hand it a copy.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  } catch (e) {
    throw corrupt(e);
  }
  try {
    if (pdf.numPages > maxPages) {
      throw new ExtractError(
        'LIMIT',
        `the PDF has ${pdf.numPages} pages; at most ${maxPages} are read (split it into parts)`,
      );
    }
    const meta = await getMeta(pdf).catch(() => null);
    const metaTitle = meta?.info?.Title;
    title = typeof metaTitle === 'string' && metaTitle.trim() ? metaTitle.trim() : null;
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const text = pageText((await page.getTextContent()).items);
      page.cleanup();
      chars += text.length + 2;
      if (chars > maxTextChars) throw tooMuchText(maxTextChars);
      if (text) pages.push(text);
    }
  } catch (e) {
    throw e instanceof ExtractError ? e : corrupt(e);
  } finally {
    await pdf.loadingTask.destroy().catch(() => {});
  }
  return { title, text: pages.join('\n\n') };
}

function corrupt(e: unknown): ExtractError {
  const detail = e instanceof Error ? e.message.split('\n')[0]?.slice(0, 160) : '';
  return new ExtractError('CORRUPT', `the PDF could not be read${detail ? ` (${detail})` : ''}`);
}

export const tooMuchText = (maxTextChars: number) =>
  new ExtractError(
    'LIMIT',
    `the document holds more than ${(maxTextChars / 1_000_000).toLocaleString('en')} million characters of text; split it into parts`,
  );
