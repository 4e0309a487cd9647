import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchError, type Resolver, safeFetch, USER_AGENT } from '../../src/ingest/safe-fetch.ts';
import { html, type LocalSite, startSite } from '../helpers/site.ts';

/** Names that only our resolver knows: a request that succeeds was sent to the checked address. */
const names: Record<string, string> = {
  'docs.test': '127.0.0.1',
  'other.test': '127.0.0.1',
};
const resolve: Resolver = async (host) => {
  const address = names[host];
  if (!address) throw new Error('ENOTFOUND');
  return [{ address, family: 4 }];
};

async function failure(p: Promise<unknown>): Promise<FetchError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FetchError) return e;
    throw e;
  }
  throw new Error('expected the fetch to fail');
}

let site: LocalSite;
beforeAll(() => {
  site = startSite({
    '/page': html('<p>hello</p>', 'Hello'),
    '/move': () => new Response(null, { status: 301, headers: { location: '/page' } }),
    '/away': () =>
      new Response(null, {
        status: 302,
        headers: { location: `http://other.test:${site.port}/page` },
      }),
    '/loop': () => new Response(null, { status: 302, headers: { location: '/loop' } }),
    '/gone': () => new Response('gone', { status: 410 }),
    '/big': () =>
      // Streamed without Content-Length: the cap must hold while reading.
      new Response(
        new ReadableStream({
          start(controller) {
            for (let i = 0; i < 64; i++) controller.enqueue(new Uint8Array(1024).fill(97));
            controller.close();
          },
        }),
        { headers: { 'content-type': 'text/html' } },
      ),
    '/stall': () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('<p>start'));
          },
        }),
        { headers: { 'content-type': 'text/html' } },
      ),
    '/latin1': () =>
      new Response(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), {
        headers: { 'content-type': 'text/plain; charset=ISO-8859-1' },
      }),
  });
});
afterAll(() => site.stop());

describe('safeFetch', () => {
  it('should refuse a loopback URL by default', async () => {
    const e = await failure(safeFetch(`${site.origin}/page`, { allowPrivate: false }));
    expect(e.failure).toBe('BLOCKED_ADDRESS');
    expect(e.message).toContain('loopback');
    expect(e.message).toContain('ALLOW_PRIVATE_URLS');
    expect(site.hits).toHaveLength(0);
  });

  it('should refuse a hostname that resolves to a private address', async () => {
    const e = await failure(
      safeFetch(`http://docs.test:${site.port}/page`, { allowPrivate: false, resolve }),
    );
    expect(e.failure).toBe('BLOCKED_ADDRESS');
  });

  it('should refuse a name when any of its addresses is private', async () => {
    const mixed: Resolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const e = await failure(
      safeFetch('http://mixed.test/', { allowPrivate: false, resolve: mixed }),
    );
    expect(e.failure).toBe('BLOCKED_ADDRESS');
  });

  it.each([
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://0x7f.1/',
    'http://2130706433/',
    'http://169.254.169.254/latest/meta-data/',
  ])('should refuse the literal address in %s', async (url) => {
    const e = await failure(safeFetch(url, { allowPrivate: false }));
    expect(e.failure).toBe('BLOCKED_ADDRESS');
  });

  it.each(['file:///etc/passwd', 'ftp://example.com/', 'not a url', 'http://user:pw@example.com/'])(
    'should refuse %s',
    async (url) => {
      const e = await failure(safeFetch(url, { allowPrivate: true }));
      expect(e.failure).toBe('BAD_URL');
    },
  );

  it('should fetch a private address when allowed, with our User-Agent', async () => {
    const res = await safeFetch(`${site.origin}/page`, { allowPrivate: true });
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('text/html');
    expect(new TextDecoder().decode(res.body)).toContain('hello');
    expect(site.headers.at(-1)?.get('user-agent')).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^answerdesk\/\d+\.\d+\.\d+/);
  });

  it('should connect to the checked address and send the hostname as Host', async () => {
    const res = await safeFetch(`http://docs.test:${site.port}/page`, {
      allowPrivate: true,
      resolve,
    });
    expect(res.url).toBe(`http://docs.test:${site.port}/page`);
    expect(site.headers.at(-1)?.get('host')).toBe(`docs.test:${site.port}`);
  });

  it('should follow a same-host redirect', async () => {
    const res = await safeFetch(`${site.origin}/move`, { allowPrivate: true });
    expect(res.url).toBe(`${site.origin}/page`);
  });

  it('should fail on a redirect to another host', async () => {
    const e = await failure(
      safeFetch(`http://docs.test:${site.port}/away`, { allowPrivate: true, resolve }),
    );
    expect(e.failure).toBe('REDIRECT_OFF_HOST');
    expect(e.message).toContain('other.test');
  });

  it('should check every redirect hop again', async () => {
    const hop = startSite({
      '/file': () =>
        new Response(null, { status: 302, headers: { location: 'file:///etc/passwd' } }),
      '/nowhere': () =>
        new Response(null, { status: 302, headers: { location: 'http://unknown.test/' } }),
    });
    try {
      const options = { allowPrivate: true, sameHostRedirects: false, resolve };
      expect((await failure(safeFetch(`${hop.origin}/file`, options))).failure).toBe('BAD_URL');
      expect((await failure(safeFetch(`${hop.origin}/nowhere`, options))).failure).toBe('DNS');
    } finally {
      hop.stop();
    }
  });

  it('should stop after too many redirects', async () => {
    const e = await failure(
      safeFetch(`${site.origin}/loop`, { allowPrivate: true, maxRedirects: 3 }),
    );
    expect(e.failure).toBe('TOO_MANY_REDIRECTS');
  });

  it('should report an error status', async () => {
    const e = await failure(safeFetch(`${site.origin}/gone`, { allowPrivate: true }));
    expect(e.failure).toBe('HTTP_STATUS');
    expect(e.status).toBe(410);
    expect(e.transient).toBe(false);
  });

  it('should stop reading past the byte cap', async () => {
    const e = await failure(
      safeFetch(`${site.origin}/big`, { allowPrivate: true, maxBytes: 10_000 }),
    );
    expect(e.failure).toBe('TOO_LARGE');
  });

  it('should time out on a server that stalls', async () => {
    const e = await failure(
      safeFetch(`${site.origin}/stall`, { allowPrivate: true, timeoutMs: 300 }),
    );
    expect(e.failure).toBe('TIMEOUT');
    expect(e.transient).toBe(true);
  });

  it('should report an unreachable host as a network failure', async () => {
    const closed = startSite();
    const origin = closed.origin;
    closed.stop();
    const e = await failure(safeFetch(`${origin}/`, { allowPrivate: true }));
    expect(e.failure).toBe('NETWORK');
  });

  it('should try the next checked address when one cannot be reached, IPv4 first', async () => {
    // Nothing listens on ::1 or 127.0.0.2 for this port; 127.0.0.1 answers.
    const dual: Resolver = async () => [
      { address: '::1', family: 6 },
      { address: '127.0.0.2', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    const res = await safeFetch(`http://dual.test:${site.port}/page`, {
      allowPrivate: true,
      resolve: dual,
    });
    expect(res.status).toBe(200);
    expect(site.headers.at(-1)?.get('host')).toBe(`dual.test:${site.port}`);
  });

  it('should report the charset it was given', async () => {
    const res = await safeFetch(`${site.origin}/latin1`, { allowPrivate: true });
    expect(res.charset?.toLowerCase()).toBe('iso-8859-1');
  });
});

// HTTPS pinning: the connection goes to the checked IP while the certificate is verified against
// the hostname. Needs `openssl` to make a throwaway certificate; skipped without it.
const hasOpenssl =
  spawnSync('openssl', ['version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 })
    .status === 0;
describe.skipIf(!hasOpenssl)('safeFetch over https', () => {
  it('should verify the certificate against the hostname while connecting to the pinned address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'answerdesk-tls-'));
    try {
      const r = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-subj',
          '/CN=docs.test',
          '-addext',
          'subjectAltName=DNS:docs.test',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 },
      );
      expect(r.status).toBe(0);
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const key = readFileSync(join(dir, 'key.pem'), 'utf8');
      const server = Bun.serve({
        port: 0,
        hostname: '127.0.0.1',
        tls: { cert, key },
        fetch: (req) => html(`<p>${req.headers.get('host')}</p>`),
      });
      // Trust the throwaway certificate through Bun's fetch TLS option (wrapping the global
      // fetch safeFetch calls); everything else about the request is safeFetch's own.
      const original = globalThis.fetch;
      globalThis.fetch = Object.assign(
        (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
          original(input, {
            ...init,
            tls: { ...(init as { tls?: object } | undefined)?.tls, ca: cert },
          } as RequestInit),
        { preconnect: original.preconnect },
      );
      try {
        const res = await safeFetch(`https://docs.test:${server.port}/`, {
          allowPrivate: true,
          resolve,
        });
        expect(new TextDecoder().decode(res.body)).toContain(`docs.test:${server.port}`);
        const wrong = await failure(
          safeFetch(`https://other.test:${server.port}/`, { allowPrivate: true, resolve }),
        );
        expect(wrong.failure).toBe('NETWORK');
        expect(wrong.message).toContain('CERT');
      } finally {
        globalThis.fetch = original;
        server.stop(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
