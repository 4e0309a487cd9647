// Uploaded files: their type, from the content first (magic bytes) and the name second.
import { extname } from 'node:path';
import { ExtractError } from './errors.ts';

export type FileType = 'pdf' | 'docx' | 'markdown' | 'text' | 'html';

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
