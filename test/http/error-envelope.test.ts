// Error answers carry the envelope and nothing of the caller's input beyond a bounded field name
// (D11), and a 500 never carries the error's own message (it goes to the log).
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { Elysia } from 'elysia';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { buildDeps } from '../../src/deps.ts';
import { FIELD_PATH_CHARS_MAX, ISSUES_SHOWN_MAX } from '../../src/http/error-handler.ts';
import { createLogger } from '../../src/logging.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { ADMIN_TOKEN, tempDir } from '../helpers/app.ts';

const lines: string[] = [];
const scratch = tempDir();
let app: { handle: (request: Request) => Promise<Response> };
let server: RunningServer;

beforeAll(async () => {
  const config = loadConfig({
    DATA_DIR: scratch.dir,
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
  });
  const log = createLogger(config.LOG_LEVEL, { write: (line: string) => void lines.push(line) });
  const deps = await buildDeps(config, log);
  // Routes that fail the way bugs do: an Error whose message holds internals, a thrown string,
  // a TypeError, an error object that claims status 500.
  app = createApp(deps).use(
    new Elysia({ prefix: '/test' })
      .get('/error', () => {
        throw new Error('SECRET-INTERNAL-1 at /srv/answerdesk/data/answerdesk.sqlite');
      })
      .get('/string', () => {
        throw 'SECRET-INTERNAL-2';
      })
      .get('/type-error', () => {
        throw new TypeError("Cannot read properties of undefined (reading 'SECRET-INTERNAL-3')");
      })
      .get('/status', () => {
        throw Object.assign(new Error('SECRET-INTERNAL-4'), { status: 500 });
      }),
  );
  server = startServer(deps, app);
});
afterAll(async () => {
  await server.stop('test');
  scratch.cleanup();
});

const post = (path: string, body: string) =>
  app.handle(
    new Request(`http://localhost${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body,
    }),
  );

describe('500 answers', () => {
  it('should answer 500 with the generic envelope, never the error message (in-process and real socket)', async () => {
    for (const [path, secret] of [
      ['/test/error', 'SECRET-INTERNAL-1'],
      ['/test/string', 'SECRET-INTERNAL-2'],
      ['/test/type-error', 'SECRET-INTERNAL-3'],
      ['/test/status', 'SECRET-INTERNAL-4'],
    ] as const) {
      const responses = [
        await app.handle(
          new Request(`http://localhost${path}`, {
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          }),
        ),
        await fetch(`${server.url}${path}`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        }),
      ];
      for (const res of responses) {
        expect(res.status).toBe(500);
        const text = await res.text();
        expect(text).not.toContain(secret);
        expect(text).not.toContain('/srv/');
        const { error } = JSON.parse(text);
        expect(error).toEqual({
          code: 'INTERNAL',
          message: 'Internal server error (see the log for this request id)',
          requestId: res.headers.get('x-request-id'),
        });
      }
    }
    // The operator finds the details in the log, under the request id.
    expect(lines.join('')).toContain('SECRET-INTERNAL-1');
  });
});

describe('422 answers (bounded field names)', () => {
  it('should cut a long unknown field name to 64 characters with an ellipsis', async () => {
    const key = `${'k'.repeat(900_000)}END`;
    const res = await post('/api/v1/chatbots', JSON.stringify({ name: 'x', [key]: 1 }));
    expect(res.status).toBe(422);
    const { error } = await res.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe(
      `Invalid body: ${'k'.repeat(FIELD_PATH_CHARS_MAX - 1)}…: is not an allowed field`,
    );
  });

  it('should cut a nested path as a whole and never split an emoji', async () => {
    const key = `${'😀'.repeat(100)}`;
    const res = await post(
      '/api/v1/chatbots',
      JSON.stringify({ name: 'x', handoff: { [key]: 'x' } }),
    );
    expect(res.status).toBe(422);
    const { error } = await res.json();
    const field = error.message.replace(/^Invalid body: /, '').split(': ')[0] as string;
    expect(field.startsWith('handoff.😀')).toBe(true);
    expect(field.endsWith('…')).toBe(true);
    expect(field.length).toBeLessThanOrEqual(FIELD_PATH_CHARS_MAX);
    // No lone surrogate: the text survives a UTF-8 round trip unchanged.
    expect(new TextDecoder().decode(new TextEncoder().encode(field))).toBe(field);
  });

  it('should list at most 10 issues and count the rest', async () => {
    const channels = Array.from({ length: 50 }, (_, i) => (i % 2 ? i : 'y'.repeat(500)));
    const res = await post('/api/v1/chatbots', JSON.stringify({ name: 'x', channels }));
    expect(res.status).toBe(422);
    const { error } = await res.json();
    expect(error.message.split('; ')).toHaveLength(ISSUES_SHOWN_MAX + 1);
    expect(error.message.endsWith('; and 40 more')).toBe(true);
    expect(error.message.length).toBeLessThan(1_000);
    expect(error.message).not.toContain('yyyy');
  });
});
