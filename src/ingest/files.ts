// Text extraction per file format (runs in the extractor process, see extractor.ts).
import { checkDocx } from './docx.ts';
import { ExtractError } from './errors.ts';
import type { FileType } from './file-type.ts';
import { extractHtml, htmlFragmentToMarkdown } from './html.ts';
import { extractPdfText, tooMuchText } from './pdf.ts';

export type ExtractedFile = {
  title: string;
  text: string;
  format: 'text' | 'markdown';
};

/** Text one document may yield (about 5,000 dense pages); more is refused with the reason. */
export const MAX_TEXT_CHARS = 20_000_000;

const baseName = (name: string) => name.replace(/^.*[\\/]/, '').replace(/\.[^.]+$/, '') || name;

function decodeTextFile(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder('latin1').decode(bytes);
  }
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

function firstHeading(markdown: string): string | null {
  return /^#{1,6}[ \t]+(.+?)[ \t#]*$/m.exec(markdown)?.[1]?.trim() ?? null;
}

function requireText(text: string, what: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw new ExtractError('EMPTY', `${what} contains no text`);
  return trimmed;
}

/** Extracts a PDF's text; pages are separated by blank lines. */
async function extractPdf(bytes: Uint8Array, name: string): Promise<ExtractedFile> {
  const { title, text } = await extractPdfText(bytes, { maxTextChars: MAX_TEXT_CHARS });
  if (!text.trim()) {
    throw new ExtractError(
      'EMPTY',
      'the PDF has no text layer (a scanned document?); text recognition (OCR) is not supported',
    );
  }
  return { title: title ?? baseName(name), text, format: 'text' };
}

/** Extracts a DOCX through mammoth's HTML (so Word headings become `#` headings). */
async function extractDocx(bytes: Uint8Array, name: string): Promise<ExtractedFile> {
  checkDocx(bytes);
  const mammoth = (await import('mammoth')).default;
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes) },
      {
        // Images would arrive as base64 data URIs: drop them, their alt text is kept.
        convertImage: mammoth.images.imgElement(async () => ({ src: '' })),
        // A DOCX may link files on the machine that opens it; never read them.
        externalFileAccess: false,
      },
    );
    html = result.value;
  } catch (e) {
    const detail = e instanceof Error ? e.message.split('\n')[0]?.slice(0, 160) : '';
    throw new ExtractError(
      'CORRUPT',
      `the Word document could not be read${detail ? ` (${detail})` : ''}`,
    );
  }
  const text = requireText(htmlFragmentToMarkdown(html), 'the Word document');
  return { title: firstHeading(text) ?? baseName(name), text, format: 'markdown' };
}

/** Extracts the text of an uploaded (or local) file of a supported type. */
export async function extractFile(
  type: FileType,
  bytes: Uint8Array,
  name: string,
): Promise<ExtractedFile> {
  const out = await extractByType(type, bytes, name);
  if (out.text.length > MAX_TEXT_CHARS) throw tooMuchText(MAX_TEXT_CHARS);
  return out;
}

async function extractByType(
  type: FileType,
  bytes: Uint8Array,
  name: string,
): Promise<ExtractedFile> {
  switch (type) {
    case 'pdf':
      return extractPdf(bytes, name);
    case 'docx':
      return extractDocx(bytes, name);
    case 'markdown': {
      const text = requireText(decodeTextFile(bytes), 'the file');
      return { title: firstHeading(text) ?? baseName(name), text, format: 'markdown' };
    }
    case 'text':
      return {
        title: baseName(name),
        text: requireText(decodeTextFile(bytes), 'the file'),
        format: 'text',
      };
    case 'html': {
      const page = extractHtml(decodeTextFile(bytes), baseName(name));
      return {
        title: page.title,
        text: requireText(page.text, 'the HTML file'),
        format: 'markdown',
      };
    }
  }
}
