// Body limits and content types: 413 over the limit (declared or streamed), 415 for non-JSON.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { rmSync } from 'node:fs';
import { Elysia } from 'elysia';
import {
  limitedBody,
  MULTIPART_OVERHEAD_BYTES,
  MULTIPART_PARTS_MAX,
  rawBody,
  readBodyText,
} from '../../src/http/body.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.ts';

const LIMIT = 2048;
const UPLOAD = 8192;

let t: TestApp;
let app: { handle: (request: Request) => Promise<Response> };
beforeAll(async () => {
  t = await buildTestApp({ BODY_LIMIT_BYTES: String(LIMIT), UPLOAD_LIMIT_BYTES: String(UPLOAD) });
  // Routes that pick their own body handling, as feature plugins do.
  app = t.app.use(
    new Elysia({ name: 'body-test-routes', prefix: '/test' })
      .post('/big-json', ({ body }) => ({ size: JSON.stringify(body).length }), {
        parse: limitedBody({ jsonBytes: 4 * LIMIT }),
      })
      .post(
        '/upload',
        ({ body }) => {
          const file = (body as { file?: unknown }).file;
          return file instanceof File ? { file: file.name, bytes: file.size } : { json: body };
        },
        { parse: limitedBody({ jsonBytes: LIMIT, multipartBytes: UPLOAD }) },
      )
      .post(
        '/raw/:thing',
        async ({ params, request }) => {
          // A raw route checks what it must first (here: 404), then reads within its limit.
          if (params.thing !== 'known') return new Response('unknown', { status: 404 });
          const text = await readBodyText(request, 1024);
          return { text, sha256: new Bun.CryptoHasher('sha256').update(text).digest('hex') };
        },
        { parse: rawBody() },
      ),
  );
});
afterAll(() => t.close());

const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  app.handle(
    new Request(`http://localhost${path}`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-admin-token-0123456789', ...headers },
      body,
    }),
  );

/** A body streamed in chunks with no Content-Length (chunked transfer). */
function streamed(totalBytes: number, chunkBytes = 512): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      const n = Math.min(chunkBytes, totalBytes - sent);
      controller.enqueue(new TextEncoder().encode('x'.repeat(n)));
      sent += n;
    },
  });
}

const bigName = (bytes: number) => JSON.stringify({ name: 'n', instructions: 'x'.repeat(bytes) });
const json = { 'content-type': 'application/json' };

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.requestId).toBe('string');
}

describe('body limits (default JSON)', () => {
  it('should answer 413 with the envelope when Content-Length is over BODY_LIMIT_BYTES', async () => {
    await expectError(
      await post('/api/v1/chatbots', bigName(LIMIT), json),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('should answer 413 when a chunked body without Content-Length grows over the limit', async () => {
    const res = await app.handle(
      new Request('http://localhost/api/v1/chatbots', {
        method: 'POST',
        headers: { authorization: 'Bearer test-admin-token-0123456789', ...json },
        body: streamed(LIMIT * 3),
        duplex: 'half',
      } as RequestInit),
    );
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('should accept a body just under the limit', async () => {
    const res = await post('/api/v1/chatbots', bigName(LIMIT - 100), json);
    expect(res.status).toBe(201);
  });

  it('should accept JSON with a charset parameter', async () => {
    const res = await post('/api/v1/chatbots', JSON.stringify({ name: 'Charset' }), {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(res.status).toBe(201);
  });

  it('should answer 415 for a text/plain or multipart body on a JSON route', async () => {
    await expectError(
      await post('/api/v1/chatbots', '{"name":"x"}', { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const form = new FormData();
    form.set('name', 'x');
    await expectError(await post('/api/v1/chatbots', form), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('should answer 422 (missing fields), not 400, to an empty JSON body', async () => {
    await expectError(await post('/api/v1/chatbots', '', json), 422, 'VALIDATION_FAILED');
  });

  it('should answer 400 for malformed JSON without echoing it', async () => {
    const res = await post('/api/v1/chatbots', '{"name": "SECRET-IN-BODY', json);
    await expectError(res.clone(), 400, 'INVALID_JSON');
    expect(await res.text()).not.toContain('SECRET-IN-BODY');
  });

  it('should refuse a declared body over every limit before routing', async () => {
    const res = await app.handle(
      new Request('http://localhost/nowhere', {
        method: 'POST',
        headers: {
          ...json,
          'content-length': String(UPLOAD + MULTIPART_OVERHEAD_BYTES + 1),
          authorization: `Bearer ${ADMIN_TOKEN}`,
        },
        body: '{}',
      }),
    );
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('body limits (routes that choose their own)', () => {
  it('should let a route raise its JSON limit', async () => {
    const body = JSON.stringify({ text: 'x'.repeat(LIMIT * 2) });
    expect((await post('/test/big-json', body, json)).status).toBe(200);
    await expectError(
      await post('/test/big-json', JSON.stringify({ text: 'x'.repeat(LIMIT * 5) }), json),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('should take multipart uploads up to the upload limit and JSON up to the JSON limit', async () => {
    const form = new FormData();
    form.set('file', new File(['y'.repeat(UPLOAD / 2)], 'notes.txt', { type: 'text/plain' }));
    const ok = await post('/test/upload', form);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ file: 'notes.txt', bytes: UPLOAD / 2 });

    const tooBig = new FormData();
    tooBig.set('file', new File(['y'.repeat(UPLOAD + 1)], 'big.txt'));
    await expectError(await post('/test/upload', tooBig), 413, 'PAYLOAD_TOO_LARGE');

    expect((await post('/test/upload', JSON.stringify({ a: 1 }), json)).status).toBe(200);
    await expectError(await post('/test/upload', bigName(LIMIT), json), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('should take a file of exactly UPLOAD_LIMIT_BYTES on the sources route and refuse one byte more', async () => {
    const created = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Up' } });
    const { id } = await created.json();
    // Encoded first, so the request declares its length the way a client on the wire does.
    const upload = async (bytes: number) => {
      const form = new FormData();
      form.set('file', new File(['a'.repeat(bytes)], 'exact.txt', { type: 'text/plain' }));
      form.set('title', 'Exactly at the limit');
      const encoded = new Response(form);
      // Read before the body: Bun drops a FormData response's content type once it is consumed.
      const type = encoded.headers.get('content-type')!;
      const body = await encoded.arrayBuffer();
      return post(`/api/v1/chatbots/${id}/sources`, body, {
        'content-type': type,
        'content-length': String(body.byteLength),
      });
    };
    // The multipart framing comes on top of the file: it must not count against the limit.
    const exact = await upload(UPLOAD);
    expect(exact.status).toBe(202);
    expect((await exact.json()).title).toBe('Exactly at the limit');
    await expectError(await upload(UPLOAD + 1), 413, 'PAYLOAD_TOO_LARGE');
    // Framing is bounded too: a body far over the limit is refused before it is read.
    await expectError(await upload(UPLOAD + 200_000), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('should bound multipart bodies: at most 100 parts (400), text fields of 64 KiB together (413)', async () => {
    const fields = (n: number, size = 1) => {
      const form = new FormData();
      for (let i = 0; i < n; i++) form.append(`f${i}`, 'x'.repeat(size));
      return form;
    };
    // Repeated fields become arrays; a form of exactly 100 parts is taken.
    const repeated = new FormData();
    repeated.append('a', '1');
    repeated.append('a', '2');
    repeated.append('b', '3');
    const ok = await post('/test/upload', repeated);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ json: { a: ['1', '2'], b: '3' } });
    // The sources route reads UPLOAD + MULTIPART_OVERHEAD_BYTES: room for the cases below. A form
    // it parsed is then judged by the schema (422: unknown fields); one it refused never is.
    const sources = '/api/v1/chatbots/x1/sources';
    await expectError(await post(sources, fields(MULTIPART_PARTS_MAX)), 422, 'VALIDATION_FAILED');
    const many = await post(sources, fields(MULTIPART_PARTS_MAX + 1));
    await expectError(many.clone(), 400, 'BAD_REQUEST');
    expect((await many.json()).error.message).toBe('The multipart body has more than 100 parts');
    await expectError(
      await post(sources, fields(1, MULTIPART_OVERHEAD_BYTES - 2)),
      422,
      'VALIDATION_FAILED',
    );
    await expectError(
      await post(sources, fields(1, MULTIPART_OVERHEAD_BYTES + 1)),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('should leave a raw route its exact bytes, its own checks first, and its own limit', async () => {
    const text = '{"event":"message:send","data":{"content":"héllo"}}';
    const res = await post('/test/raw/known', text, json);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.text).toBe(text);
    expect(body.sha256).toBe(new Bun.CryptoHasher('sha256').update(text).digest('hex'));

    // Too large for the route, but the route's 404 comes first; then its own 413.
    expect((await post('/test/raw/unknown', 'x'.repeat(4096), json)).status).toBe(404);
    await expectError(
      await post('/test/raw/known', 'x'.repeat(4096), json),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    await expectError(
      await post('/test/raw/known', streamed(4096) as unknown as BodyInit, json),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('should answer 413 when a body is longer than the Content-Length it declares', async () => {
    // In process nothing frames the body by its header: a small declared length must not let a
    // larger body through the read-whole path.
    await expectError(
      await post('/test/raw/known', 'x'.repeat(4096), { ...json, 'content-length': '10' }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });
});

describe('body limits (real HTTP server)', () => {
  let server: RunningServer;
  let local: TestApp;
  beforeAll(async () => {
    local = await buildTestApp({ BODY_LIMIT_BYTES: String(LIMIT), PORT: '0', HOST: '127.0.0.1' });
    server = startServer(local.deps, local.app);
  });
  afterAll(async () => {
    // stop() closes storage itself; only the temp dir is left.
    await server.stop('test');
    rmSync(local.dir, { recursive: true, force: true });
  });

  it('should answer 413 to a chunked upload over the limit sent over the wire', async () => {
    const res = await fetch(`${server.url}/api/v1/chatbots`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-admin-token-0123456789', ...json },
      body: streamed(LIMIT * 4),
      duplex: 'half',
    } as RequestInit);
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('should answer 413 to a declared oversized body over the wire', async () => {
    const res = await fetch(`${server.url}/api/v1/chatbots`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-admin-token-0123456789', ...json },
      body: bigName(LIMIT * 2),
    });
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });
});
