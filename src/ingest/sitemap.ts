// Sitemaps: a <urlset> of pages or a <sitemapindex> of sitemaps; also the plain text form (one URL
// a line) and gzip-compressed files. The protocol's limits: docs/notes/ingestion.md.
import { GT, SLASH } from '../char-codes.ts';
import { readStreamLimited } from '../http/body.ts';
import { nextTurn } from '../next-turn.ts';
import { IngestError } from './errors.ts';

export type ParsedSitemap =
  | { kind: 'urlset'; urls: string[] }
  | { kind: 'index'; sitemaps: string[] };

/** Entries read from one sitemap file (the protocol's limit); later ones are ignored. */
export const SITEMAP_MAX_ENTRIES = 50_000;
/** Longest <loc> read (the protocol: under 2,048 characters); a longer entry is skipped. */
const LOC_MAX_CHARS = 2_048;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** A code point XML allows in text (XML 1.0 `Char`). */
const isXmlChar = (c: number) =>
  c === 0x9 ||
  c === 0xa ||
  c === 0xd ||
  (c >= 0x20 && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0xfffd) ||
  (c >= 0x10000 && c <= 0x10ffff);

/**
 * The text of a <loc>: CDATA unwrapped, entities decoded, trimmed. Null when it is too long or
 * holds an entity XML does not define or a character reference to no valid character (e.g.
 * `&#x110000;`): that entry is skipped, the rest of the sitemap is read.
 */
function decodeLoc(raw: string): string | null {
  if (raw.length > LOC_MAX_CHARS) return null;
  const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(raw);
  if (cdata) return cdata[1]?.trim() || null;
  let valid = true;
  const text = raw.replace(/&([^;&\s]{0,16});/g, (_, e: string) => {
    if (e[0] !== '#') {
      const named = ENTITIES[e];
      if (named === undefined) valid = false;
      return named ?? '';
    }
    const hex = e[1] === 'x' || e[1] === 'X';
    const digits = e.slice(hex ? 2 : 1);
    const code = (hex ? /^[0-9a-f]{1,6}$/i : /^\d{1,7}$/).test(digits)
      ? Number.parseInt(digits, hex ? 16 : 10)
      : Number.NaN;
    if (!isXmlChar(code)) {
      valid = false;
      return '';
    }
    return String.fromCodePoint(code);
  });
  return valid ? text.trim() || null : null;
}

/** Characters that end a tag name: white space, `/`, `>`. */
const NAME_END = new Set([0x20, 0x09, 0x0a, 0x0d, SLASH, GT]);

/** `x:name` → `name`, lower-cased. */
const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1).toLowerCase();

/** Text read between two yields to the event loop (a few ms of work). */
const SLICE_CHARS = 256 * 1024;

/**
 * Reads the XML forms in one pass, in time linear in the text: each `<` is visited once (no
 * regex over the document, no search restarting from an entry's start, so 400 KB of unclosed
 * <url> tags cost what any 400 KB costs). An entry is the first <loc> inside a <url> (urlset) or
 * <sitemap> (index); an entry left open ends where the next one starts.
 */
async function parseXmlForm(text: string): Promise<ParsedSitemap | null> {
  let kind: ParsedSitemap['kind'] | null = null;
  const locs: string[] = [];
  let inEntry = false;
  let locStart = -1;
  let loc: string | null = null;
  const endEntry = () => {
    const decoded = loc === null ? null : decodeLoc(loc);
    if (decoded) locs.push(decoded);
    inEntry = false;
    loc = null;
    locStart = -1;
  };
  let i = 0;
  let sliceEnd = SLICE_CHARS;
  while (locs.length < SITEMAP_MAX_ENTRIES) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    if (lt > sliceEnd) {
      await nextTurn();
      sliceEnd = lt + SLICE_CHARS;
    }
    // Comments and CDATA sections are stepped over whole (a <loc>'s CDATA is read with it).
    const skip = text.startsWith('<!--', lt)
      ? '-->'
      : text.startsWith('<![CDATA[', lt)
        ? ']]>'
        : '';
    const close = text.indexOf(skip || '>', lt + 1);
    if (close < 0) break; // unterminated: nothing after it can be read
    i = close + (skip ? skip.length : 1);
    if (skip) continue;
    const closing = text.charCodeAt(lt + 1) === SLASH;
    let last = closing ? lt + 2 : lt + 1;
    const first = last;
    while (last < close && !NAME_END.has(text.charCodeAt(last))) last++;
    const name = localName(text.slice(first, last));
    if (kind === null) {
      if (name === 'urlset') kind = 'urlset';
      else if (name === 'sitemapindex') kind = 'index';
      continue;
    }
    if (name === (kind === 'index' ? 'sitemap' : 'url')) {
      if (inEntry) endEntry();
      inEntry = !closing && text.charCodeAt(close - 1) !== SLASH;
    } else if (name === 'loc' && inEntry) {
      if (!closing) locStart = close + 1;
      else if (locStart >= 0 && loc === null) loc = text.slice(locStart, lt);
    }
  }
  if (inEntry) endEntry();
  if (kind === null) return null;
  return kind === 'index' ? { kind, sitemaps: locs } : { kind, urls: locs };
}

/**
 * Un-gzips a body when it starts with the gzip magic bytes (`sitemap.xml.gz`), streaming and
 * stopping past `maxBytes`, so a small compressed "bomb" cannot fill the memory.
 */
export async function maybeGunzip(body: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  if (body[0] !== 0x1f || body[1] !== 0x8b) return body;
  const stream = new Blob([body as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return readStreamLimited(
    stream,
    maxBytes,
    () => new IngestError(`the uncompressed sitemap is larger than ${maxBytes} bytes`),
  );
}

/**
 * Parses a sitemap document (at most SITEMAP_MAX_ENTRIES entries), yielding to the event loop
 * every SLICE_CHARS so a 20 MiB sitemap never holds up request handling. Resolves to null when
 * the text is neither XML sitemap form nor a plain list of URLs ("not a sitemap").
 */
export async function parseSitemap(text: string): Promise<ParsedSitemap | null> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const xml = await parseXmlForm(body);
  if (xml) return xml;
  // The text form: every non-empty line an absolute http(s) URL.
  const urls: string[] = [];
  let sliceEnd = SLICE_CHARS;
  for (let at = 0; at < body.length && urls.length < SITEMAP_MAX_ENTRIES; ) {
    if (at > sliceEnd) {
      await nextTurn();
      sliceEnd = at + SLICE_CHARS;
    }
    const newline = body.indexOf('\n', at);
    const end = newline < 0 ? body.length : newline;
    const line = body.slice(at, end).trim();
    at = end + 1;
    if (!line) continue;
    if (!/^https?:\/\/\S+$/i.test(line)) return null;
    urls.push(line);
  }
  return urls.length > 0 ? { kind: 'urlset', urls } : null;
}
