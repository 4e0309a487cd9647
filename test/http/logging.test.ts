// Logging: secrets never reach a log line (fields by name, the webhook key in the request path).
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { Elysia } from 'elysia';
import * as v from 'valibot';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { buildDeps } from '../../src/deps.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { createLogger, redactUrl } from '../../src/logging.ts';
import { ADMIN_TOKEN, tempDir } from '../helpers/app.ts';

/** A logger whose JSON lines land in `lines`. */
function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const log = createLogger(level, {
    write: (line: string) => {
      raw.push(line);
      lines.push(JSON.parse(line));
    },
  });
  return { log, lines, raw };
}

describe('logging (redaction)', () => {
  it('should redact authorization headers, tokens and keys at any logged depth', () => {
    const { log, raw } = capture();
    log.info(
      {
        req: { headers: { authorization: 'Bearer SECRET-AUTH-1' } },
        token: 'SECRET-TOKEN-2',
        crisp: { tokenKey: 'SECRET-KEY-3', signingSecret: 'SECRET-SIGN-4' },
        apiKey: 'SECRET-API-5',
        config: { GROQ_API_KEY: 'SECRET-GROQ-6', ADMIN_TOKEN: 'SECRET-ADMIN-7' },
        key: 'SECRET-WEBHOOK-8',
        visible: 'kept',
      },
      'event',
    );
    const text = raw.join('');
    for (let i = 1; i <= 8; i++) expect(text).not.toMatch(new RegExp(`SECRET-[A-Z]+-${i}`));
    expect(text).toContain('[REDACTED]');
    expect(text).toContain('kept');
  });

  it('should redact secret fields nested deeper than three levels and inside arrays', () => {
    const { log, lines } = capture();
    log.info(
      {
        a: { b: { c: { d: { token: 'SECRET-DEEP-1' } } } },
        hooks: [{ signingSecret: 'SECRET-ARRAY-2', name: 'kept' }],
      },
      'nested',
    );
    const line = JSON.stringify(lines[0]);
    expect(line).not.toContain('SECRET-DEEP-1');
    expect(line).not.toContain('SECRET-ARRAY-2');
    expect(lines[0]).toMatchObject({ msg: 'nested', hooks: [{ name: 'kept' }] });
  });

  it('should leave a line without secret fields as pino wrote it', () => {
    const { log, lines } = capture();
    log.child({ requestId: 'r1' }).info({ route: '/healthz', status: 200 }, 'request');
    expect(lines[0]).toMatchObject({ requestId: 'r1', route: '/healthz', status: 200 });
  });

  it('should mask secret query parameters in URLs', () => {
    expect(redactUrl('/webhook/cb_1?key=abc123&x=1')).toBe('/webhook/cb_1?key=[REDACTED]&x=1');
    expect(redactUrl('/x?a=1&token=t0k&api_key=k')).toBe(
      '/x?a=1&token=[REDACTED]&api_key=[REDACTED]',
    );
  });

  it('should mask every secret-looking query parameter by its name, encoded or not', () => {
    const url =
      '/x?access_token=A1&refresh_token=A2&client_secret=A3&password=A4&api-key=A5&apiKey=A6' +
      '&X-Amz-Signature=A7&sig=A8&auth=A9&session_id=A10&access%5Ftoken=A11&Token=A12&q=kept&page=2';
    const redacted = redactUrl(url);
    for (let i = 1; i <= 12; i++) expect(redacted).not.toMatch(new RegExp(`=A${i}(&|$)`));
    expect(redacted).toContain('q=kept&page=2');
    expect(redactUrl('/cb#access_token=A13&state=s')).toBe('/cb#access_token=[REDACTED]&state=s');
  });

  it('should mask credentials in an absolute URL', () => {
    expect(redactUrl('https://user:SECRET-PASS@emb.test/v1?key=k')).toBe(
      'https://[REDACTED]@emb.test/v1?key=[REDACTED]',
    );
    expect(redactUrl('https://emb.test/v1/a@b')).toBe('https://emb.test/v1/a@b');
  });
});

describe('logging (request summary line)', () => {
  const t = tempDir();
  const { log, lines, raw } = capture();
  let app: ReturnType<typeof createApp>;
  let close: () => void;
  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: t.dir, ADMIN_TOKEN, LOG_LEVEL: 'info' });
    const deps = await buildDeps(config, log);
    app = createApp(deps);
    close = () => deps.db.close();
  });
  afterAll(() => {
    close();
    t.cleanup();
  });

  it('should write one line per request with id, route, status and duration, and no secrets', async () => {
    const res = await app.handle(
      new Request(
        'http://localhost/api/integrations/livechat/crisp/webhook/cb_x?key=WEBHOOK-SECRET-9',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': 'req-test-1' },
          body: '{}',
        },
      ),
    );
    expect(res.headers.get('x-request-id')).toBe('req-test-1');
    await app.handle(
      new Request('http://localhost/api/v1/chatbots', {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      }),
    );
    // Elysia writes the summary after the response is handed back: let those hooks run.
    const summaries = () => lines.filter((l) => l.msg === 'request');
    for (let i = 0; i < 100 && summaries().length < 2; i++) await new Promise(setImmediate);
    expect(summaries().length).toBe(2);
    const [webhook, list] = summaries();
    expect(webhook?.requestId).toBe('req-test-1');
    expect(String(webhook?.path)).toContain('key=[REDACTED]');
    expect(list).toMatchObject({
      method: 'GET',
      route: '/api/v1/chatbots',
      status: 200,
      outcome: 'ok',
    });
    expect(typeof list?.durationMs).toBe('number');
    const text = raw.join('');
    expect(text).not.toContain('WEBHOOK-SECRET-9');
    expect(text).not.toContain(ADMIN_TOKEN);
  });

  it('should keep access tokens and other secret query parameters out of the summary line', async () => {
    const secrets = ['SECRET-AT-1', 'SECRET-CS-2', 'SECRET-PW-3', 'SECRET-AK-4', 'SECRET-SG-5'];
    await app.handle(
      new Request(
        `http://localhost/healthz?access_token=${secrets[0]}&client_secret=${secrets[1]}` +
          `&password=${secrets[2]}&x-api-key=${secrets[3]}&signature=${secrets[4]}&q=visible-1`,
      ),
    );
    const line = () =>
      lines.find((l) => l.msg === 'request' && String(l.path).includes('visible-1'));
    for (let i = 0; i < 100 && !line(); i++) await new Promise(setImmediate);
    expect(String(line()?.path)).toBe(
      '/healthz?access_token=[REDACTED]&client_secret=[REDACTED]&password=[REDACTED]' +
        '&x-api-key=[REDACTED]&signature=[REDACTED]&q=visible-1',
    );
    const text = raw.join('');
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});

describe('error handler (a response that breaks its own schema)', () => {
  it('should answer 500 and log the fields, not 422 with the values', async () => {
    const { log, lines, raw } = capture();
    const app = new Elysia().use(errorHandler({ log })).get(
      '/broken',
      // Deliberately wrong: a string where the schema promises a number.
      () => ({ count: 'SECRET-OUT-1' }) as unknown as { count: number },
      { response: { 200: v.object({ count: v.number() }) } },
    );
    const res = await app.handle(new Request('http://localhost/broken'));
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error.code).toBe('INTERNAL');
    expect(JSON.stringify(body)).not.toContain('SECRET-OUT-1');
    const logged = lines.find((l) => l.msg === 'response failed its schema');
    expect(logged?.level).toBe('error');
    expect(String(logged?.issues)).toContain('count');
    expect(raw.join('')).not.toContain('SECRET-OUT-1');
  });
});
