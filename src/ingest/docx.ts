// Word documents: the zip is measured and its XML depth checked before mammoth reads it.
import { inflateRawSync } from 'node:zlib';
import { APOSTROPHE, BANG, GT, LT, QUESTION, QUOTE, SLASH } from '../char-codes.ts';
import { ExtractError } from './errors.ts';

/** Largest total of uncompressed entries a DOCX may have (a zip "bomb" guard). */
export const DOCX_MAX_UNCOMPRESSED_BYTES = 256 * 1_048_576;
/**
 * Deepest element nesting in the document's XML parts. Word's own markup is ~10 levels deep
 * (body, table, row, cell, paragraph, run, text) plus a few per nested table; mammoth converts
 * recursively and overflows its stack near 10,000 levels.
 */
export const DOCX_MAX_XML_DEPTH = 256;

type ZipEntry = { name: string; method: number; compressed: number; size: number; local: number };

/**
 * Entries of a zip's central directory, or null when it cannot be read. A ZIP64 directory gives
 * one entry of infinite size: a Word document never needs it, and jszip would trust it.
 */
export function zipEntries(bytes: Uint8Array): ZipEntry[] | null {
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
  const count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  const zip64 = { name: '', method: -1, compressed: 0, size: Number.POSITIVE_INFINITY, local: 0 };
  if (count === 0xffff || offset === 0xffffffff) return [zip64];
  const entries: ZipEntry[] = [];
  const names = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) return null;
    const nameLength = view.getUint16(offset + 28, true);
    const entry = {
      name: names.decode(bytes.subarray(offset + 46, offset + 46 + nameLength)),
      method: view.getUint16(offset + 10, true),
      compressed: view.getUint32(offset + 20, true),
      size: view.getUint32(offset + 24, true),
      local: view.getUint32(offset + 42, true),
    };
    if (entry.size === 0xffffffff || entry.compressed === 0xffffffff) return [zip64];
    entries.push(entry);
    offset +=
      46 + nameLength + view.getUint16(offset + 30, true) + view.getUint16(offset + 32, true);
  }
  return entries;
}

/** Sum of the uncompressed sizes a zip's directory declares (null: unreadable). */
export function zipDeclaredSize(bytes: Uint8Array): number | null {
  return zipEntries(bytes)?.reduce((sum, e) => sum + e.size, 0) ?? null;
}

/** Inflates one entry, never to more than `maxBytes` (whatever its header claims). */
function readEntry(bytes: Uint8Array, entry: ZipEntry, maxBytes: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.local;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== 0x04034b50) {
    throw new ExtractError('CORRUPT', 'the Word document could not be read (broken zip entry)');
  }
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const data = bytes.subarray(start, start + entry.compressed);
  if (entry.method === 0) return data.subarray(0, maxBytes + 1);
  if (entry.method !== 8) {
    throw new ExtractError('CORRUPT', 'the Word document uses an unsupported zip compression');
  }
  try {
    return inflateRawSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return tooBig();
    throw new ExtractError('CORRUPT', 'the Word document could not be read (broken zip entry)');
  }
}

const tooBig = (): never => {
  throw new ExtractError(
    'LIMIT',
    `the Word document would unpack to more than ${DOCX_MAX_UNCOMPRESSED_BYTES / 1_048_576} MiB; it is refused`,
  );
};

/**
 * Deepest element nesting of an XML document (UTF-8), counting up to `limit` + 1 at most, in
 * one linear pass over the bytes: comments, CDATA, declarations and quoted attribute values
 * are skipped, `<x/>` does not nest.
 */
export function xmlDepth(xml: Uint8Array, limit: number): number {
  const buf = Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength);
  const startsAt = (i: number, s: string) => buf.toString('latin1', i, i + s.length) === s;
  const skipPast = (end: string, from: number) => {
    const i = buf.indexOf(end, from, 'latin1');
    return i < 0 ? buf.length : i + end.length;
  };
  let depth = 0;
  let max = 0;
  let i = buf.indexOf(LT);
  while (i >= 0 && i < buf.length) {
    const next = buf[i + 1];
    if (next === SLASH) {
      depth--;
      i = buf.indexOf(LT, i + 2);
      continue;
    }
    if (next === BANG || next === QUESTION) {
      if (startsAt(i, '<!--')) i = skipPast('-->', i + 4);
      else if (startsAt(i, '<![CDATA[')) i = skipPast(']]>', i + 9);
      else i = skipPast(next === QUESTION ? '?>' : '>', i + 2);
      i = buf.indexOf(LT, i);
      continue;
    }
    let j = i + 1;
    let quote = 0;
    for (; j < buf.length; j++) {
      const c = buf[j];
      if (quote) {
        if (c === quote) quote = 0;
      } else if (c === QUOTE || c === APOSTROPHE) quote = c;
      else if (c === GT) break;
    }
    if (j >= buf.length) break;
    if (buf[j - 1] !== SLASH && ++depth > max) {
      max = depth;
      if (max > limit) return max;
    }
    i = buf.indexOf(LT, j + 1);
  }
  return max;
}

/**
 * Checks a Word document before mammoth sees it: a readable zip directory, at most
 * DOCX_MAX_UNCOMPRESSED_BYTES once inflated (measured while inflating, so a zip that lies about
 * its sizes is caught too), and XML parts nested at most DOCX_MAX_XML_DEPTH deep.
 */
export function checkDocx(bytes: Uint8Array): void {
  const entries = zipEntries(bytes);
  if (!entries) {
    throw new ExtractError('CORRUPT', 'the Word document could not be read (broken zip directory)');
  }
  if (entries.reduce((sum, e) => sum + e.size, 0) > DOCX_MAX_UNCOMPRESSED_BYTES) tooBig();
  let budget = DOCX_MAX_UNCOMPRESSED_BYTES;
  for (const entry of entries) {
    if (!/\.(xml|rels)$/i.test(entry.name)) continue;
    const xml = readEntry(bytes, entry, budget);
    budget -= xml.length;
    if (budget < 0) tooBig();
    if (xmlDepth(xml, DOCX_MAX_XML_DEPTH) > DOCX_MAX_XML_DEPTH) {
      throw new ExtractError(
        'LIMIT',
        `the Word document is nested more than ${DOCX_MAX_XML_DEPTH} levels deep; it is refused`,
      );
    }
  }
}
