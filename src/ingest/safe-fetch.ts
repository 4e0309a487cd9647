// Outbound HTTP for URL and sitemap sources: SSRF-checked, pinned to the checked address,
// redirects followed by hand, bodies capped while streaming, and one deadline for everything.
import { lookup } from 'node:dns/promises';
import { readStreamLimited } from '../http/body.ts';
import { VERSION } from '../version.ts';
import { blockedAddressReason, parseIpv4, parseIpv6 } from './address.ts';

export const USER_AGENT = `answerdesk/${VERSION} (+https://github.com/answerdesk; knowledge ingestion)`;
/** The product token robots.txt groups are matched against. */
export const ROBOTS_AGENT = 'answerdesk';

export const DEFAULT_FETCH_TIMEOUT_MS = 15_000;
export const DEFAULT_FETCH_MAX_BYTES = 5 * 1_048_576;
export const DEFAULT_MAX_REDIRECTS = 5;

export type FetchFailure =
  | 'BAD_URL'
  | 'DNS'
  | 'BLOCKED_ADDRESS'
  | 'REDIRECT_OFF_HOST'
  | 'TOO_MANY_REDIRECTS'
  | 'HTTP_STATUS'
  | 'TOO_LARGE'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'NETWORK'
  | 'UNSUPPORTED_CONTENT_TYPE';

/** A fetch that did not produce a usable body; `message` is safe to show on the source. */
export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    readonly failure: FetchFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  /** Worth another attempt later (the network or the server may recover). */
  get transient(): boolean {
    if (this.failure === 'TIMEOUT' || this.failure === 'NETWORK' || this.failure === 'DNS') {
      return true;
    }
    return this.failure === 'HTTP_STATUS' && (this.status === 429 || (this.status ?? 0) >= 500);
  }
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

export type SafeFetchOptions = {
  /** ALLOW_PRIVATE_URLS: permit private, loopback and link-local addresses. */
  allowPrivate: boolean;
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
  /** Follow redirects only to the same hostname (URL sources); off for robots.txt. */
  sameHostRedirects?: boolean;
  signal?: AbortSignal;
  accept?: string;
  /** For tests: a resolver other than the system's. */
  resolve?: Resolver;
};

export type FetchedResource = {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  /** Media type, lower-cased, without parameters (`text/html`). */
  contentType: string;
  charset: string | null;
  body: Uint8Array;
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

type Address = { address: string; family: number };

/** At most this many of a host's (checked) addresses are tried, one after another. */
const MAX_CONNECT_ADDRESSES = 4;

/**
 * Checks the scheme and resolves the host to addresses the policy allows: `addresses` holds them
 * all, IPv4 first (a server without IPv6 routes still reaches dual-stack sites), and `address` /
 * `family` the first.
 */
export async function checkUrl(
  raw: string | URL,
  options: Pick<SafeFetchOptions, 'allowPrivate' | 'resolve'>,
): Promise<{ url: URL; address: string; family: number; addresses: Address[] }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError('BAD_URL', 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchError('BAD_URL', `only http and https URLs are fetched, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new FetchError('BAD_URL', 'URLs with credentials are not fetched');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: Address[];
  if (parseIpv4(host)) addresses = [{ address: host, family: 4 }];
  else if (parseIpv6(host)) addresses = [{ address: host, family: 6 }];
  else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch {
      throw new FetchError('DNS', `the host ${host} could not be resolved`);
    }
    if (addresses.length === 0) throw new FetchError('DNS', `the host ${host} has no address`);
  }
  if (!options.allowPrivate) {
    // Every answer must be public: a name that also resolves inside the network is refused, so
    // round-robin answers cannot smuggle a private address past the check.
    for (const a of addresses) {
      const reason = blockedAddressReason(a.address);
      if (reason) {
        throw new FetchError(
          'BLOCKED_ADDRESS',
          `${host} resolves to a ${reason}; set ALLOW_PRIVATE_URLS=true to allow private addresses`,
        );
      }
    }
  }
  const ordered = [...addresses].sort(
    (a, b) => (a.family === 4 ? 0 : 1) - (b.family === 4 ? 0 : 1),
  );
  const first = ordered[0]!;
  return { url, address: first.address, family: first.family, addresses: ordered };
}

/**
 * GETs `url` safely. The connection goes to the address that was checked (the hostname travels
 * in the Host header and, for https, as the TLS server name the certificate is verified
 * against), so a DNS answer that changes between check and connect (rebinding) cannot redirect
 * the request. Each redirect hop is checked again.
 */
export async function safeFetch(
  raw: string | URL,
  options: SafeFetchOptions,
): Promise<FetchedResource> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_FETCH_MAX_BYTES;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const failOnAbort = (): never => {
    if (options.signal?.aborted) throw new FetchError('ABORTED', 'the fetch was cancelled');
    throw new FetchError('TIMEOUT', `no complete answer within ${timeoutMs} ms`);
  };

  let current = String(raw);
  let originHost: string | null = null;
  for (let hop = 0; ; hop++) {
    const { url, addresses } = await checkUrl(current, options);
    if (signal.aborted) failOnAbort();
    originHost ??= url.hostname;
    let res: Response | undefined;
    let failure: unknown;
    // Only checked addresses are tried; the next one when a connection cannot be made.
    for (const { address, family } of addresses.slice(0, MAX_CONNECT_ADDRESSES)) {
      const target = new URL(url);
      target.hostname = family === 6 ? `[${address}]` : address;
      try {
        res = await fetch(target, {
          method: 'GET',
          redirect: 'manual',
          signal,
          headers: {
            host: url.host,
            'user-agent': USER_AGENT,
            accept: options.accept ?? '*/*',
          },
          // Certificates are checked against the hostname, not the pinned address. A pooled TLS
          // connection is keyed by address; never reuse one made for another server name.
          tls: url.protocol === 'https:' ? { serverName: url.hostname } : undefined,
          keepalive: url.protocol !== 'https:',
          proxy: false,
        } as RequestInit);
        break;
      } catch (e) {
        if (signal.aborted) failOnAbort();
        failure = e;
      }
    }
    if (!res) {
      const detail =
        failure instanceof Error && 'code' in failure ? ` (${String(failure.code)})` : '';
      throw new FetchError('NETWORK', `could not connect to ${url.host}${detail}`);
    }
    if (REDIRECTS.has(res.status)) {
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get('location');
      if (!location) throw new FetchError('HTTP_STATUS', `redirect without a Location`, res.status);
      if (hop >= maxRedirects) {
        throw new FetchError('TOO_MANY_REDIRECTS', `more than ${maxRedirects} redirects`);
      }
      const next = new URL(location, url);
      if ((options.sameHostRedirects ?? true) && next.hostname !== originHost) {
        throw new FetchError(
          'REDIRECT_OFF_HOST',
          `redirected from ${originHost} to another host (${next.hostname}); only same-host redirects are followed`,
        );
      }
      current = next.href;
      continue;
    }
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => {});
      throw new FetchError('HTTP_STATUS', `the server answered HTTP ${res.status}`, res.status);
    }
    const length = Number(res.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(length) && length > maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new FetchError('TOO_LARGE', `the response is larger than ${maxBytes} bytes`);
    }
    const body = await readCapped(res, maxBytes, signal, failOnAbort);
    const [type = '', ...params] = (res.headers.get('content-type') ?? '').split(';');
    const charsetParam = params.map((p) => p.trim()).find((p) => /^charset=/i.test(p));
    return {
      url: url.href,
      status: res.status,
      contentType: type.trim().toLowerCase(),
      charset: charsetParam ? charsetParam.slice(8).replace(/"/g, '').trim() : null,
      body,
    };
  }
}

/** Reads a body, failing as soon as it passes `maxBytes` (a Content-Length can lie or be absent). */
async function readCapped(
  res: Response,
  maxBytes: number,
  signal: AbortSignal,
  failOnAbort: () => never,
): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array();
  try {
    return await readStreamLimited(
      res.body,
      maxBytes,
      () => new FetchError('TOO_LARGE', `the response is larger than ${maxBytes} bytes`),
    );
  } catch (e) {
    if (e instanceof FetchError) throw e;
    if (signal.aborted) failOnAbort();
    throw new FetchError('NETWORK', 'the connection broke while reading the response');
  }
}

/** Decodes a text body by its declared charset (or a `<meta charset>`), falling back to UTF-8. */
export function decodeText(body: Uint8Array, charset: string | null): string {
  let label = charset;
  if (!label) {
    const head = new TextDecoder('latin1').decode(body.subarray(0, 2048));
    label = /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1] ?? null;
  }
  try {
    return new TextDecoder(label ?? 'utf-8').decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}

/** HTML media types accepted for a URL source. */
export const isHtmlType = (contentType: string) =>
  contentType === 'text/html' || contentType === 'application/xhtml+xml';
