// Request bodies: every route's body is read with a byte limit (413), in an accepted content type
// (415), and parsed by us, never by Elysia's unbounded default parsers.
import { AppError } from '../errors.ts';
import { jsonShapeProblem } from './json-limits.ts';
import { jsonSyntaxError } from './json-syntax.ts';

/** Context fields a parse hook reads (a subset of Elysia's parse context). */
type ParseContext = { request: Request };

/** A route-level parse hook, tagged with the media types it accepts (the OpenAPI document uses it). */
export type BodyParser = ((ctx: ParseContext) => Promise<unknown>) & {
  readonly accepts: readonly string[];
};

const tooLarge = (limitBytes: number) =>
  new AppError('PAYLOAD_TOO_LARGE', `The request body is larger than ${limitBytes} bytes`);

/**
 * Reads the whole body of `request`, failing with 413 as soon as it passes `limitBytes`: at once
 * when Content-Length says so, otherwise while counting the stream (chunked or lying senders).
 */
async function readBody(request: Request, limitBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared)) {
    if (Number(declared) > limitBytes) throw tooLarge(limitBytes);
    // Within the limit: Bun's server frames the body by its Content-Length (and refuses one sent
    // with Transfer-Encoding too), so it is read whole, without a stream reader (~50 µs less a
    // request, scripts/profile-webhook.ts). The check after covers in-process Requests
    // (`app.handle`), whose body is not framed by the header.
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > limitBytes) throw tooLarge(limitBytes);
    return bytes;
  }
  if (!request.body) return new Uint8Array(0);
  return readStreamLimited(request.body, limitBytes, () => tooLarge(limitBytes));
}

/**
 * Reads a byte stream to its end, counting as it goes: past `limitBytes` the stream is cancelled
 * and `tooLarge()` is thrown, so a body never grows beyond the limit in memory (request bodies,
 * fetched pages, inflated sitemaps).
 */
export async function readStreamLimited(
  stream: ReadableStream<Uint8Array>,
  limitBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value as Uint8Array<ArrayBuffer>);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Reads the body as UTF-8 text within `limitBytes` (e.g. the raw webhook body for its HMAC). */
export async function readBodyText(request: Request, limitBytes: number): Promise<string> {
  return new TextDecoder().decode(await readBody(request, limitBytes));
}

/**
 * Parses a JSON text received from outside: its shape is bounded first (depth, number of values;
 * see json-limits.ts), then JSON.parse judges the syntax. 400 either way, never echoing the text:
 * a syntax error says what is wrong and where (line, column), in words of our own.
 */
export function parseJsonText(text: string): unknown {
  const problem = jsonShapeProblem(text);
  if (problem) throw new AppError('BAD_REQUEST', problem);
  try {
    return JSON.parse(text);
  } catch {
    const at = jsonSyntaxError(text);
    const where = at ? `: ${at.problem} at line ${at.line}, column ${at.column}` : '';
    throw new AppError('INVALID_JSON', `The request body is not valid JSON${where}`);
  }
}

/**
 * Multipart framing (boundaries, part headers) and the form's text fields, read on top of an
 * upload limit so a file of exactly the limit fits; the route checks each file against the limit.
 * The text fields together may not take more than this either.
 */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** The most parts (fields and files) a multipart body may have; a file source needs four. */
export const MULTIPART_PARTS_MAX = 100;

/** How many times `--boundary` occurs in `bytes`, counting no further than `stopAt`. */
function countDelimiters(bytes: Uint8Array, boundary: string, stopAt: number): number {
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const delimiter = Buffer.from(`--${boundary}`);
  let count = 0;
  for (let at = haystack.indexOf(delimiter); at !== -1 && count < stopAt; count++) {
    at = haystack.indexOf(delimiter, at + delimiter.length);
  }
  return count;
}

/**
 * A multipart body as a plain object (files stay `File`s; repeated fields become arrays, like
 * Elysia's; empty text fields are left out). Bounded before and after the native parse: at most MULTIPART_PARTS_MAX parts (400),
 * text fields of at most MULTIPART_OVERHEAD_BYTES together (413). Built in one pass: asking
 * FormData for each key's values was quadratic (20,000 fields took 3 s).
 */
async function parseMultipart(bytes: Uint8Array<ArrayBuffer>, header: string): Promise<unknown> {
  const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(header);
  const name = boundary?.[1] ?? boundary?.[2];
  // The closing delimiter is one more than the parts.
  if (name && countDelimiters(bytes, name, MULTIPART_PARTS_MAX + 2) > MULTIPART_PARTS_MAX + 1) {
    throw new AppError(
      'BAD_REQUEST',
      `The multipart body has more than ${MULTIPART_PARTS_MAX} parts`,
    );
  }
  let form: FormData;
  try {
    // A Response re-reads the bytes with the boundary from the original header.
    form = await new Response(bytes, { headers: { 'content-type': header } }).formData();
  } catch {
    throw new AppError('BAD_REQUEST', 'The multipart body could not be parsed');
  }
  const out: Record<string, unknown> = {};
  let fieldChars = 0;
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') fieldChars += key.length + value.length;
    if (fieldChars > MULTIPART_OVERHEAD_BYTES) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `The form's text fields are larger than ${MULTIPART_OVERHEAD_BYTES} characters`,
      );
    }
    // A form sends its empty fields too (Swagger UI ticks "Send empty value" by default): an
    // empty text field is one not filled in, so it counts as absent, not as an empty value.
    if (value === '') continue;
    const seen = out[key];
    if (seen === undefined) out[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[key] = [seen, value];
  }
  return out;
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | null): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

const isJsonType = (type: string) =>
  type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));

function tag(fn: (ctx: ParseContext) => Promise<unknown>, accepts: string[]): BodyParser {
  return Object.assign(fn, { accepts: Object.freeze(accepts) });
}

/**
 * A parse hook accepting JSON up to `jsonBytes` and, when `multipartBytes` is given,
 * `multipart/form-data` up to that size. Other content types get 415, bad JSON 400.
 * An empty body parses as `{}`, so bodiless POSTs and required-field 422s both work.
 *
 * @example .post('/sources', handler, { parse: limitedBody({ jsonBytes, multipartBytes }) })
 */
export function limitedBody(limits: { jsonBytes: number; multipartBytes?: number }): BodyParser {
  const accepts = ['application/json'];
  if (limits.multipartBytes !== undefined) accepts.push('multipart/form-data');
  return tag(async ({ request }) => {
    // No body at all: leave it undefined (Elysia parses nothing either).
    if (!request.body) return undefined;
    const header = request.headers.get('content-type');
    const type = mediaType(header);
    if (isJsonType(type)) {
      const bytes = await readBody(request, limits.jsonBytes);
      if (bytes.byteLength === 0) return {};
      return parseJsonText(new TextDecoder().decode(bytes));
    }
    if (type === 'multipart/form-data' && limits.multipartBytes !== undefined) {
      return parseMultipart(await readBody(request, limits.multipartBytes), header ?? '');
    }
    if (request.headers.get('content-length') === '0') return {};
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Send the body as ${accepts.join(' or ')} (Content-Type header)`,
    );
  }, accepts);
}

/**
 * A parse hook that leaves the body unread, for routes that must see the raw bytes (the Crisp
 * webhook signs them) or check something first. The handler then reads it itself with
 * `readBodyText(request, limitBytes)`, which enforces its limit. `accepts` is for the docs only.
 */
export function rawBody(accepts: string[] = ['application/json']): BodyParser {
  // null, not undefined: undefined would let Elysia's fallback parser consume the stream.
  return tag(async () => null, accepts);
}

type RouteView = { method: string; path: string; hooks: { parse?: unknown } };
type ParseHook = { fn?: unknown };

/** The parse hooks a route declared itself (anything other than `defaultParser`). */
export function ownParsers(route: RouteView, defaultParser: unknown): unknown[] {
  const hooks = Array.isArray(route.hooks.parse) ? (route.hooks.parse as ParseHook[]) : [];
  return hooks.map((h) => h.fn ?? h).filter((fn) => fn !== defaultParser);
}

/**
 * The foundation's parse hook for every route: JSON within BODY_LIMIT_BYTES, unless the route
 * declared its own `parse` (see `limitedBody` and `rawBody`), which then runs instead.
 * Elysia runs global parse hooks before a route's own, so this one steps aside by route lookup.
 */
export function defaultBodyParser(
  jsonBytes: number,
  routes: () => readonly RouteView[],
): BodyParser & ((ctx: ParseContext & { route?: string }) => Promise<unknown>) {
  const fallback = limitedBody({ jsonBytes });
  let known = -1;
  let custom = new Set<string>();
  // Destructured in the parameter list: Elysia only fills `route` for hooks it sees reading it.
  const parser = tag(async ({ request, route }: ParseContext & { route?: string }) => {
    const all = routes();
    if (all.length !== known) {
      known = all.length;
      custom = new Set(
        all.filter((r) => ownParsers(r, parser).length > 0).map((r) => `${r.method} ${r.path}`),
      );
    }
    if (
      route !== undefined &&
      (custom.has(`${request.method} ${route}`) || custom.has(`ALL ${route}`))
    ) {
      return undefined;
    }
    return fallback({ request });
  }, fallback.accepts.slice());
  return parser;
}
