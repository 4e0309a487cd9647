// kill -9 mid-answer (and mid-post) and restart: every visitor message is answered exactly once.
// Runs against the sources (`bun run src/index.ts`) and once against the compiled binary.
import { Database } from 'bun:sqlite';
import { afterAll, describe, expect, it } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../../src/version.ts';
import {
  delivery,
  type FakeCrisp,
  startFakeCrisp,
  visitorMessage,
  WEBSITE_ID,
} from '../helpers/fake-crisp.ts';
import { type FakeGroq, fakeAnswer, startFakeGroq } from '../helpers/fake-groq.ts';
import {
  buildBinaryOnce,
  FROM_SOURCE,
  type RunningBinary,
  startBinary,
} from '../helpers/process.ts';
import { PLUGIN_TOKEN } from './harness.ts';

const ADMIN = 'crash-test-admin-token-0123456789';

/** Polls `condition` (an observable state, not a sleep for work) until true or `timeoutMs`. */
async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

type Launch = (env: Record<string, string>) => Promise<RunningBinary>;

const started: RunningBinary[] = [];
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const p of started) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {}
    await p.stop(1000).catch(() => {});
  }
  for (const c of cleanups) await c();
});

/** Jobs not finished yet, read from the data dir's SQLite file (WAL: safe beside the server). */
function unfinishedJobs(dataDir: string): number {
  const db = new Database(join(dataDir, 'answerdesk.sqlite'), { readonly: true });
  try {
    return (
      db.query("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running')").get() as {
        n: number;
      }
    ).n;
  } finally {
    db.close();
  }
}

async function crashScenario(launch: Launch, label: string) {
  const crisp: FakeCrisp = startFakeCrisp({ tokens: [PLUGIN_TOKEN], websites: [WEBSITE_ID] });
  const groq: FakeGroq = await startFakeGroq();
  const dataDir = mkdtempSync(join(tmpdir(), `answerdesk-crash-${label}-`));
  cleanups.push(
    () => crisp.close(),
    () => groq.stop(),
    () => rmSync(dataDir, { recursive: true, force: true }),
  );
  const env = {
    DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    SECRET_KEY: 'crash-test-secret-key-0123456789abcdef',
    CRISP_API_URL: crisp.url,
    GROQ_BASE_URL: groq.baseUrl,
    GROQ_API_KEY: 'test-groq-key',
    CRISP_BURST_WINDOW_MS: '0',
    LOG_LEVEL: 'warn',
  };
  const start = async () => {
    const p = await launch(env);
    started.push(p);
    return p;
  };
  const kill9 = async (p: RunningBinary) => {
    process.kill(p.pid, 'SIGKILL');
    await p.stop(5000);
    started.splice(started.indexOf(p), 1);
  };

  let server = await start();
  const admin = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    fetch(`${server.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
  const bot = await (
    await admin('/api/v1/chatbots', { method: 'POST', json: { name: 'crash' } })
  ).json();
  const connected = await (
    await admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`, {
      method: 'PUT',
      json: {
        websiteId: WEBSITE_ID,
        tokenIdentifier: PLUGIN_TOKEN.identifier,
        tokenKey: PLUGIN_TOKEN.key,
      },
    })
  ).json();
  const key = new URL(connected.webhookUrl).searchParams.get('key')!;
  const send = (text: string, sessionId: string) =>
    fetch(
      `${server.url}/api/integrations/livechat/crisp/webhook/${bot.id}?key=${key}`,
      delivery(visitorMessage(text, { sessionId })),
    );
  const answering = (text: string) =>
    groq.requestsOf('answer').some((r) => r.body.messages.some((m) => m.content.includes(text)));
  const texts = (sessionId: string) => crisp.posted(sessionId, 'text');

  // 1. Answered before any crash.
  groq.setDefault(() => fakeAnswer('Fast answer.'));
  expect((await send('question A', 'session_A')).status).toBe(200);
  await until('A answered', () => texts('session_A').length === 1);

  // 2. Three answers streaming slowly; kill -9 while they are mid-stream.
  groq.setDefault(() =>
    fakeAnswer('A slow answer that streams for a long while. '.repeat(8), { tokensPerSecond: 10 }),
  );
  for (const s of ['B', 'C', 'D'])
    expect((await send(`question ${s}`, `session_${s}`)).status).toBe(200);
  await until('B, C and D mid-answer', () =>
    ['B', 'C', 'D'].every((s) => answering(`question ${s}`)),
  );
  await kill9(server);
  expect(['B', 'C', 'D'].map((s) => texts(`session_${s}`).length)).toEqual([0, 0, 0]);

  // 3. Restart: the interrupted jobs resume and post once each.
  groq.setDefault(() => fakeAnswer('Answer after restart.'));
  server = await start();
  await until('B, C and D answered', () =>
    ['B', 'C', 'D'].every((s) => texts(`session_${s}`).length >= 1),
  );
  await until('the queue to settle', () => unfinishedJobs(dataDir) === 0);

  // 4. kill -9 with a post in flight that Crisp already stored: reconciled, not re-posted.
  crisp.script('message', { status: 200, hold: true });
  expect((await send('question E', 'session_E')).status).toBe(200);
  await until('E stored by Crisp', () => texts('session_E').length === 1);
  await kill9(server);
  server = await start();
  await until('E reconciled', () => crisp.callsTo('messages', 'session_E').length >= 1);
  await until('the queue to settle', () => unfinishedJobs(dataDir) === 0);

  for (const s of ['A', 'B', 'C', 'D', 'E']) expect(texts(`session_${s}`).length).toBe(1);
  expect(texts('session_A')[0]!.content).toBe('Fast answer.');
  for (const s of ['B', 'C', 'D', 'E'])
    expect(texts(`session_${s}`)[0]!.content).toBe('Answer after restart.');
  // The conversation view shows one bot reply per visitor message, with Crisp's fingerprint.
  for (const s of ['B', 'E']) {
    const conv = await (
      await admin(`/api/v1/chatbots/${bot.id}/conversations/session_${s}`)
    ).json();
    const bots = conv.messages.filter((m: { role: string }) => m.role === 'bot');
    expect(bots.at(-1).fingerprint).toBe(String(texts(`session_${s}`)[0]!.fingerprint));
  }
  // Says who it is on every Crisp call: automated posts and compose, answerdesk's User-Agent.
  const writes = crisp.calls.filter((c) => c.route === 'message' || c.route === 'compose');
  expect(writes.length).toBeGreaterThan(0);
  for (const call of writes) {
    expect(call.userAgent).toBe(`answerdesk/${VERSION}`);
    expect((call.body as { automated?: unknown }).automated).toBe(true);
  }
  // The delivery log tells what became of each visitor message.
  const log = await (
    await admin(`/api/v1/chatbots/${bot.id}/integrations/crisp/deliveries?limit=500`)
  ).json();
  const ofA = log.deliveries.find((d: { sessionId: string }) => d.sessionId === 'session_A');
  expect(ofA).toMatchObject({ event: 'message:send', action: 'queued', outcome: 'answered' });
  await server.stop();
  started.splice(started.indexOf(server), 1);
}

describe('crisp crash safety', () => {
  it(
    'should answer every message exactly once across kill -9 and restart (from source)',
    () => crashScenario((env) => startBinary({ command: FROM_SOURCE, env }), 'source'),
    120_000,
  );

  it('should answer every message exactly once across kill -9 and restart (compiled binary)', async () => {
    const binary = await buildBinaryOnce();
    await crashScenario((env) => startBinary({ command: [binary], env }), 'binary');
  }, 300_000);
});
