// Uploaded files: type detection (extension and magic bytes) and text extraction per format.
import { extname } from 'node:path';
import { extractHtml, htmlFragmentToMarkdown } from './html.ts';

export type FileType = 'pdf' | 'docx' | 'markdown' | 'text' | 'html';

export type ExtractedFile = {
  title: string;
  text: string;
  format: 'text' | 'markdown';
};

/** A file that cannot become knowledge; `message` is safe to show on the source or in a 415. */
export class ExtractError extends Error {
  override name = 'ExtractError';
  constructor(
    readonly kind: 'UNSUPPORTED' | 'CORRUPT' | 'EMPTY',
    message: string,
  ) {
    super(message);
  }
}

const EXTENSIONS: Record<string, FileType> = {
  '.pdf': 'pdf',
  '.docx': 'docx',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdx': 'markdown',
  '.txt': 'text',
  '.text': 'text',
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
};

export const SUPPORTED_EXTENSIONS = Object.keys(EXTENSIONS);

const startsWith = (bytes: Uint8Array, magic: number[], at = 0) =>
  magic.every((b, i) => bytes[at + i] === b);

/** Binary formats we recognise only to refuse them with a precise reason. */
const OTHER_BINARY: { magic: number[]; name: string }[] = [
  { magic: [0x89, 0x50, 0x4e, 0x47], name: 'a PNG image' },
  { magic: [0xff, 0xd8, 0xff], name: 'a JPEG image' },
  { magic: [0x47, 0x49, 0x46, 0x38], name: 'a GIF image' },
  { magic: [0xd0, 0xcf, 0x11, 0xe0], name: 'a legacy Office file (.doc/.xls); save it as .docx' },
  { magic: [0x1f, 0x8b], name: 'a gzip archive' },
  { magic: [0x7f, 0x45, 0x4c, 0x46], name: 'an executable' },
  { magic: [0x52, 0x61, 0x72, 0x21], name: 'a RAR archive' },
  { magic: [0x37, 0x7a, 0xbc, 0xaf], name: 'a 7z archive' },
];

const ZIP = [0x50, 0x4b, 0x03, 0x04];
const PDF = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-"

/** Finds an ASCII needle in bytes (zip entry names are stored in the clear). */
function containsAscii(bytes: Uint8Array, needle: string): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(
    needle,
    0,
    'latin1',
  );
}

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 64 * 1024);
  if (sample.includes(0)) return false;
  try {
    // A multi-byte character may be cut at the sample's end; `stream` tolerates that.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    // Legacy 8-bit text (latin-1) is accepted when it has no control characters.
    return !sample.some((b) => b < 0x09 || (b > 0x0d && b < 0x20));
  }
}

/**
 * Detects a file's type from its content first (magic bytes) and its name second. A name that
 * promises a binary format the bytes do not have, or bytes of a format we do not read, is
 * refused (415) with the reason.
 */
export function detectFileType(name: string, bytes: Uint8Array): FileType {
  const ext = extname(name).toLowerCase();
  const byName = EXTENSIONS[ext];
  if (startsWith(bytes, PDF) || (bytes.length < 1024 && containsAscii(bytes, '%PDF-'))) {
    return 'pdf';
  }
  if (startsWith(bytes, ZIP)) {
    if (containsAscii(bytes, 'word/document.xml')) return 'docx';
    throw new ExtractError(
      'UNSUPPORTED',
      'the file is a zip archive but not a Word document (.docx); supported: pdf, docx, md, txt, html',
    );
  }
  for (const other of OTHER_BINARY) {
    if (startsWith(bytes, other.magic)) {
      throw new ExtractError('UNSUPPORTED', `the file is ${other.name}, which is not supported`);
    }
  }
  if (byName === 'pdf' || byName === 'docx') {
    throw new ExtractError(
      'UNSUPPORTED',
      `the file is named ${ext} but its content is not a ${byName === 'pdf' ? 'PDF' : 'Word document'}`,
    );
  }
  if (!looksLikeText(bytes)) {
    throw new ExtractError(
      'UNSUPPORTED',
      'the file is binary data of an unsupported type; supported: pdf, docx, md, txt, html',
    );
  }
  if (byName) return byName;
  const head = new TextDecoder().decode(bytes.subarray(0, 1024)).trimStart().toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'html';
  if (ext === '') return 'text';
  throw new ExtractError(
    'UNSUPPORTED',
    `files of type ${ext} are not supported; supported: pdf, docx, md, txt, html`,
  );
}

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

/** Extracts text from a PDF with unpdf (pdf.js); pages are separated by blank lines. */
async function extractPdf(bytes: Uint8Array, name: string): Promise<ExtractedFile> {
  const { getDocumentProxy, extractText, getMeta } = await import('unpdf');
  let pages: string[];
  let metaTitle: string | null = null;
  try {
    // pdf.js takes ownership of (and may detach) the buffer it is given: hand it a copy.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    try {
      const meta = await getMeta(pdf).catch(() => null);
      const title = meta?.info?.Title;
      metaTitle = typeof title === 'string' && title.trim() ? title.trim() : null;
      pages = (await extractText(pdf, { mergePages: false })).text;
    } finally {
      await pdf.loadingTask.destroy().catch(() => {});
    }
  } catch (e) {
    const detail = e instanceof Error ? e.message.split('\n')[0]?.slice(0, 160) : '';
    throw new ExtractError('CORRUPT', `the PDF could not be read${detail ? ` (${detail})` : ''}`);
  }
  const text = pages
    .map((p) => p.replace(/[ \t]+\n/g, '\n').trim())
    .filter(Boolean)
    .join('\n\n');
  if (!text.trim()) {
    throw new ExtractError(
      'EMPTY',
      'the PDF has no text layer (a scanned document?); text recognition (OCR) is not supported',
    );
  }
  return { title: metaTitle ?? baseName(name), text, format: 'text' };
}

/** Largest total of uncompressed entries a DOCX may declare (a zip "bomb" guard). */
export const DOCX_MAX_UNCOMPRESSED_BYTES = 256 * 1_048_576;

/**
 * Sum of the uncompressed sizes a zip's central directory declares, or null when the directory
 * cannot be read (the extractor then reports the file as corrupt). ZIP64 markers count as too big.
 */
export function zipDeclaredSize(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record sits in the last 22 + 65,535 (comment) bytes.
  const floor = Math.max(0, bytes.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= floor; i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const entries = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  // ZIP64: the real entry count and offset live in a record this reader does not parse; a
  // Word document never needs it, and jszip would trust it, so it counts as too big.
  if (entries === 0xffff || offset === 0xffffffff) return Number.POSITIVE_INFINITY;
  let total = 0;
  for (let n = 0; n < entries; n++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) return null;
    const size = view.getUint32(offset + 24, true);
    if (size === 0xffffffff) return Number.POSITIVE_INFINITY;
    total += size;
    offset +=
      46 +
      view.getUint16(offset + 28, true) +
      view.getUint16(offset + 30, true) +
      view.getUint16(offset + 32, true);
  }
  return total;
}

/** Extracts a DOCX through mammoth's HTML (so Word headings become `#` headings). */
async function extractDocx(bytes: Uint8Array, name: string): Promise<ExtractedFile> {
  const declared = zipDeclaredSize(bytes);
  if (declared === null) {
    throw new ExtractError('CORRUPT', 'the Word document could not be read (broken zip directory)');
  }
  if (declared > DOCX_MAX_UNCOMPRESSED_BYTES) {
    throw new ExtractError(
      'CORRUPT',
      `the Word document would unpack to more than ${DOCX_MAX_UNCOMPRESSED_BYTES / 1_048_576} MiB; it is refused`,
    );
  }
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
