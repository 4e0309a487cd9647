// Sitemaps (sitemaps.org): a <urlset> of pages or a <sitemapindex> of sitemaps; also the plain
// text form (one URL a line) and gzip-compressed files.
import { readStreamLimited } from '../http/body.ts';
import { IngestError } from './errors.ts';

export type ParsedSitemap =
  | { kind: 'urlset'; urls: string[] }
  | { kind: 'index'; sitemaps: string[] };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXml(s: string): string {
  return s
    .replace(/^<!\[CDATA\[([\s\S]*)\]\]>$/, '$1')
    .replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code =
          e[1]?.toLowerCase() === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
        return Number.isFinite(code) ? String.fromCodePoint(code) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .trim();
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
 * Parses a sitemap document. Returns null when the text is neither XML sitemap form nor a plain
 * list of URLs, so the caller can say "not a sitemap".
 */
export function parseSitemap(text: string): ParsedSitemap | null {
  const body = text.replace(/^\uFEFF/, '').replace(/<!--[\s\S]*?-->/g, '');
  const locs = (tag: string) =>
    [
      ...body.matchAll(
        new RegExp(`<(?:\\w+:)?${tag}\\b[^>]*>([\\s\\S]*?)</(?:\\w+:)?${tag}>`, 'gi'),
      ),
    ]
      .map((m) => /<(?:\w+:)?loc\b[^>]*>([\s\S]*?)<\/(?:\w+:)?loc>/i.exec(m[1] ?? '')?.[1])
      .filter((s): s is string => !!s)
      .map(decodeXml)
      .filter(Boolean);
  if (/<(?:\w+:)?sitemapindex\b/i.test(body)) return { kind: 'index', sitemaps: locs('sitemap') };
  if (/<(?:\w+:)?urlset\b/i.test(body)) return { kind: 'urlset', urls: locs('url') };
  // The text form: every non-empty line an absolute http(s) URL.
  const lines = body
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length > 0 && lines.every((l) => /^https?:\/\/\S+$/i.test(l))) {
    return { kind: 'urlset', urls: lines };
  }
  return null;
}
