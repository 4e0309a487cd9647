// `bun run scripts/profile-webhook.ts`: where one Crisp webhook delivery's time goes.
//
// 1. Stages, in process: the real app (buildDeps + createApp, real SQLite in a temp dir, pino at
//    info into /dev/null) takes N deliveries through `app.handle`; then the route's stages are run
//    one by one on N more deliveries, each under its own high-resolution timer (the same calls, in
//    the same order, as the route in src/crisp/webhook-route.ts). Elysia's share is the whole `app.handle`
//    minus the stages.
// 2. CPU profile: the real server (`bun --cpu-prof run src/index.ts`) under PROFILE_SECONDS of
//    closed-loop webhook load (16 connections), stopped with SIGTERM; its samples are summed by
//    area (self time) and by our functions (inclusive time).
// PROFILE_DELIVERIES=5000, PROFILE_SECONDS=5, PROFILE_DIR (default: a temp dir, kept).
import type { Database } from 'bun:sqlite';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import * as v from 'valibot';
import { createApp } from '../src/app.ts';
import { findChatbot } from '../src/chatbots/service.ts';
import { loadConfig } from '../src/config.ts';
import { ConnectionStore } from '../src/crisp/connections.ts';
import { Envelope, MessageData } from '../src/crisp/model.ts';
import { verifyDelivery } from '../src/crisp/verify.ts';
import { handleEvent } from '../src/crisp/webhook.ts';
import { buildDeps } from '../src/deps.ts';
import { readBodyText } from '../src/http/body.ts';
import { requestInfo } from '../src/http/request-context.ts';
import { createLogger, redactUrl } from '../src/logging.ts';
import { PLUGIN_TOKEN } from '../test/crisp/harness.ts';
import { startFakeCrisp, visitorMessage, WEBSITE_ID } from '../test/helpers/fake-crisp.ts';
import { closedLoop, percentile, postJson } from './bench-load.ts';

const N = Number(Bun.env.PROFILE_DELIVERIES ?? 5_000);
const SECONDS = Number(Bun.env.PROFILE_SECONDS ?? 5);
const ADMIN = 'profile-admin-token-0123456789';
const ROOT = resolve(import.meta.dir, '..');

const crisp = startFakeCrisp({ tokens: [PLUGIN_TOKEN], websites: [WEBSITE_ID] });

function body(id: string): string {
  const m = visitorMessage(`profile question ${id}`, { sessionId: `session_${id}` });
  return JSON.stringify({ ...m, data: { ...m.data, fingerprint: `fp_${id}` } });
}

type Stats = { p50: number; p90: number; p99: number; mean: number; max: number };
const stats = (us: number[]): Stats => ({
  p50: percentile(us, 50),
  p90: percentile(us, 90),
  p99: percentile(us, 99),
  mean: us.reduce((a, b) => a + b, 0) / us.length,
  max: Math.max(...us),
});
const f1 = (n: number) => n.toFixed(1);

// ---------------------------------------------------------------------------------------------
// 1. Stages in process.

async function stages() {
  const dir = mkdtempSync(join(tmpdir(), 'answerdesk-profile-'));
  const config = loadConfig({
    DATA_DIR: dir,
    ADMIN_TOKEN: ADMIN,
    SECRET_KEY: 'profile-secret-key-0123456789abcdef',
    LOG_LEVEL: 'info',
    CRISP_API_URL: crisp.url,
    CRISP_BURST_WINDOW_MS: '60000',
    PUBLIC_URL: 'http://127.0.0.1:3000',
  });
  // Info lines are serialised and written as in production; /dev/null stands for the log sink.
  const log = createLogger('info', pino.destination({ dest: '/dev/null', sync: true }));
  const deps = await buildDeps(config, log);
  const app = createApp(deps);
  deps.worker.start();
  const admin = (path: string, method: string, json: unknown) =>
    app
      .handle(
        new Request(`http://127.0.0.1:3000${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify(json),
        }),
      )
      .then((r) => r.json() as Promise<Record<string, unknown>>);
  const bot = await admin('/api/v1/chatbots', 'POST', { name: 'profile' });
  const chatbotId = String(bot.id);
  const connected = await admin(`/api/v1/chatbots/${chatbotId}/integrations/crisp`, 'PUT', {
    websiteId: WEBSITE_ID,
    tokenIdentifier: PLUGIN_TOKEN.identifier,
    tokenKey: PLUGIN_TOKEN.key,
  });
  const webhookUrl = String(connected.webhookUrl);
  const post = (id: string) =>
    new Request(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(id),
    });

  // Whole requests through Elysia (no socket): webhook and /healthz, warm-up first.
  const whole = async (make: (i: number) => Request, count: number) => {
    const us: number[] = [];
    for (let i = 0; i < count; i++) {
      const request = make(i);
      const t0 = performance.now();
      const res = await app.handle(request);
      await res.arrayBuffer();
      us.push((performance.now() - t0) * 1000);
    }
    return us;
  };
  await whole((i) => post(`warm_${i}`), 500);
  await whole(() => new Request('http://127.0.0.1:3000/healthz'), 500);
  const webhookWhole = await whole((i) => post(`whole_${i}`), N);
  const healthzWhole = await whole(() => new Request('http://127.0.0.1:3000/healthz'), N);

  // The route's stages, one timer each (src/crisp/webhook-route.ts, webhook handler, in order).
  const connections = new ConnectionStore(deps.db, config.SECRET_KEY);
  const webhookDeps = {
    db: deps.db,
    worker: deps.worker,
    metrics: deps.metrics,
    log,
    burstWindowMs: config.CRISP_BURST_WINDOW_MS,
    clock: deps.clock,
  };
  const names = [
    'request context: id + child logger',
    'connection lookup + decrypt',
    'chatbot lookup + settings parse',
    'body read (stream, 1 MiB limit)',
    'URL key + verify',
    'JSON.parse',
    'valibot envelope',
    'valibot message data',
    'transaction: inbox + job (commit)',
    'worker wake (microtask)',
    'metrics',
    'summary log line',
  ] as const;
  const times = new Map<string, number[]>(names.map((n) => [n, []]));
  const walPagesBefore = walPages(deps.db);
  for (let i = 0; i < N; i++) {
    const request = post(`stage_${i}`);
    const lap = (() => {
      let t = performance.now();
      return (name: (typeof names)[number]) => {
        const now = performance.now();
        times.get(name)!.push((now - t) * 1000);
        t = now;
      };
    })();
    const info = requestInfo(request, log);
    lap('request context: id + child logger');
    const connection = connections.get(chatbotId)!;
    lap('connection lookup + decrypt');
    const chatbot = findChatbot(deps.db, chatbotId)!;
    lap('chatbot lookup + settings parse');
    const raw = await readBodyText(request, 1_048_576);
    lap('body read (stream, 1 MiB limit)');
    const verified = verifyDelivery(
      {
        rawBody: raw,
        key: new URL(request.url).searchParams.get('key'),
        signature: request.headers.get('x-crisp-signature'),
        timestamp: request.headers.get('x-crisp-request-timestamp'),
      },
      { webhookSecret: connection.webhookSecret, signingSecret: connection.signingSecret },
      { maxAgeSeconds: 0, now: Date.now() },
    );
    if (!verified.ok) throw new Error('not verified');
    lap('URL key + verify');
    const json = JSON.parse(raw);
    lap('JSON.parse');
    const envelope = v.parse(Envelope, json);
    lap('valibot envelope');
    v.parse(MessageData, envelope.data);
    lap('valibot message data');
    // handleEvent parses the data again (timed above) and commits the inbox row and the job.
    const action = handleEvent(webhookDeps, connection, chatbot, envelope);
    if (action !== 'queued') throw new Error(`action ${action}`);
    lap('transaction: inbox + job (commit)');
    await Promise.resolve();
    lap('worker wake (microtask)');
    deps.metrics.inc('answerdesk_crisp_webhooks_total', 'Crisp webhook deliveries by result.', {
      event: envelope.event,
      action,
    });
    deps.metrics.observeRequest(
      'POST',
      '/api/integrations/livechat/crisp/webhook/:chatbotId',
      200,
      1,
    );
    lap('metrics');
    const url = new URL(request.url);
    info.log.info(
      {
        method: request.method,
        route: '/api/integrations/livechat/crisp/webhook/:chatbotId',
        path: redactUrl(url.pathname + url.search),
        status: 200,
        durationMs: 1,
        outcome: 'ok',
      },
      'request',
    );
    lap('summary log line');
  }
  const walPagesAfter = walPages(deps.db);
  const commits = times.get('transaction: inbox + job (commit)')!;
  // The transaction's tail: which commits ran a WAL auto-checkpoint (the slow ones).
  const slow = commits.filter((us) => us > 1_000).length;
  await deps.worker.stop();
  deps.knowledge.close();
  deps.lance.close();
  deps.db.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    webhookWhole: stats(webhookWhole),
    healthzWhole: stats(healthzWhole),
    stages: names.map((n) => ({ name: n, ...stats(times.get(n)!) })),
    slowCommits: slow,
    walPages: { before: walPagesBefore, after: walPagesAfter },
  };
}

/** Frames in the WAL now (a passive checkpoint that copies nothing reports them). */
function walPages(db: Database): number {
  return (db.query<{ log: number }, []>('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number })
    .log;
}

// ---------------------------------------------------------------------------------------------
// 2. CPU profile of the real server under webhook load.

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
};
/** Chrome's format, as Bun writes it; times in µs since the epoch. */
type Profile = {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
};

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? done(a.port) : fail(new Error('no port'))));
    });
  });
}

/** Which part of the stack a frame belongs to (self time is summed per area). */
function area(frame: ProfileNode['callFrame']): string {
  const url = frame.url;
  const name = frame.functionName;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)' || name === '(root)') return '(program: native, HTTP server)';
  if (name === '(idle)') return '(idle)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/(src\/[^/]+(?:\/[^/]+)?\.ts)/.exec(url);
  if (ours) return ours[1]!;
  if (!url) return `native: ${name || '(anonymous)'}`;
  return url.replace(/^.*\//, '');
}

/** Functions whose inclusive time we want (name as in the profile, file). */
const INCLUSIVE: [string, string][] = [
  ['handle', 'elysia'],
  ['get', 'src/crisp/connections.ts'],
  ['open', 'src/crisp/secret-box.ts'],
  ['findChatbot', 'src/chatbots/service.ts'],
  ['readBodyText', 'src/http/body.ts'],
  ['verifyDelivery', 'src/crisp/verify.ts'],
  ['handleEvent', 'src/crisp/webhook.ts'],
  ['visitorMessage', 'src/crisp/webhook.ts'],
  ['recordInbox', 'src/crisp/webhook.ts'],
  ['enqueue', 'src/jobs/worker.ts'],
  ['tick', 'src/jobs/worker.ts'],
  ['safeParse', 'valibot'],
  ['requestInfo', 'src/http/request-context.ts'],
  ['inc', 'src/http/metrics.ts'],
  ['observeRequest', 'src/http/metrics.ts'],
  ['info', 'pino'],
  ['LOG', 'pino'],
  ['child', 'pino'],
];

/**
 * Sample counts within [fromUs, toUs] (the load, not the start-up): self samples per area, and
 * inclusive samples of the INCLUSIVE functions. Counts, not time deltas: on a busy machine the
 * sampler is descheduled with the process and a delta can span many milliseconds of nothing.
 */
function summarise(profile: Profile, fromUs: number, toUs: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= fromUs && at <= toUs) self.set(id, (self.get(id) ?? 0) + 1);
  });
  const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)';
  const busy = [...self.entries()].filter(([id]) => !isIdle(id)).reduce((a, [, n]) => a + n, 0);
  const areas = new Map<string, number>();
  for (const [id, n] of self) {
    if (isIdle(id)) continue;
    const a = area(byId.get(id)!.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + n);
  }
  // Inclusive: a sample counts once for a function if it appears anywhere on its stack.
  const inclusive = new Map<string, number>();
  for (const [id, n] of self) {
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const frame = byId.get(node)!.callFrame;
      for (const [fn, where] of INCLUSIVE) {
        const key = `${fn} (${where})`;
        if (frame.functionName === fn && frame.url.includes(where) && !seen.has(key)) {
          seen.add(key);
          inclusive.set(key, (inclusive.get(key) ?? 0) + n);
        }
      }
    }
  }
  return { busy, areas, inclusive };
}

/** CPU time (user + system, all threads) a process used so far, in ms (Linux /proc, 100 Hz). */
function cpuTimeMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function cpuProfile() {
  const dataDir = mkdtempSync(join(tmpdir(), 'answerdesk-profile-server-'));
  const profileDir = Bun.env.PROFILE_DIR ?? mkdtempSync(join(tmpdir(), 'answerdesk-cpuprof-'));
  const port = await freePort();
  const proc = Bun.spawn(
    [
      process.execPath,
      '--cpu-prof',
      '--cpu-prof-md',
      `--cpu-prof-dir=${profileDir}`,
      'run',
      join(ROOT, 'src/index.ts'),
    ],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? dataDir,
        TMPDIR: process.env.TMPDIR ?? tmpdir(),
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        ADMIN_TOKEN: ADMIN,
        SECRET_KEY: 'profile-secret-key-0123456789abcdef',
        CRISP_API_URL: crisp.url,
        CRISP_BURST_WINDOW_MS: '60000',
        LOG_LEVEL: 'info',
      },
      stdout: Bun.file(join(dataDir, 'stdout.log')),
      stderr: 'inherit',
    },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 600) throw new Error('server did not start');
    await Bun.sleep(50); // start-up polling
  }
  const admin = (path: string, method: string, json: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(json),
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
  const bot = await admin('/api/v1/chatbots', 'POST', { name: 'profile' });
  const connected = await admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`, 'PUT', {
    websiteId: WEBSITE_ID,
    tokenIdentifier: PLUGIN_TOKEN.identifier,
    tokenKey: PLUGIN_TOKEN.key,
  });
  const path = String(connected.webhookUrl).replace(/^https?:\/\/[^/]+/, '');
  const cpuBefore = cpuTimeMs(proc.pid);
  const fromUs = Date.now() * 1000;
  const load = await closedLoop({
    host: '127.0.0.1',
    port,
    seconds: SECONDS,
    connections: 16,
    request: (i) => ({
      id: String(i),
      bytes: postJson(`127.0.0.1:${port}`, path, body(`cpu_${i}`)),
    }),
    okMarker: '"action":"queued"',
  });
  const toUs = Date.now() * 1000;
  const cpuMs = cpuTimeMs(proc.pid) - cpuBefore;
  proc.kill('SIGTERM');
  await proc.exited;
  rmSync(dataDir, { recursive: true, force: true });
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${profileDir}`);
  const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as Profile;
  return { load, cpuMs, profileDir, summary: summarise(profile, fromUs, toUs) };
}

// ---------------------------------------------------------------------------------------------

try {
  console.log(
    `profile:webhook — Bun ${Bun.version}, ${N} deliveries per measurement, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const s = await stages();
  console.log('\n## Stages in process (µs per delivery)\n');
  console.log('| stage | p50 | p90 | p99 | mean | max |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const line = (name: string, x: Stats) =>
    console.log(
      `| ${name} | ${f1(x.p50)} | ${f1(x.p90)} | ${f1(x.p99)} | ${f1(x.mean)} | ${f1(x.max)} |`,
    );
  for (const st of s.stages) line(st.name, st);
  const sumMean = s.stages.reduce((a, st) => a + st.mean, 0);
  console.log(`| **sum of the stages** | | | | ${f1(sumMean)} | |`);
  line('**whole webhook request through `app.handle`**', s.webhookWhole);
  line('whole `GET /healthz` through `app.handle`', s.healthzWhole);
  console.log(
    `\nElysia and request-context hooks beyond the stages: ≈ ${f1(s.webhookWhole.mean - sumMean)} µs mean. Commits over 1 ms: ${s.slowCommits} of ${N} (WAL frames before/after the stage run: ${s.walPages.before} → ${s.walPages.after}).`,
  );

  const cpu = await cpuProfile();
  const { busy, areas, inclusive } = cpu.summary;
  const served = cpu.load.ok;
  const cpuUsPerDelivery = (cpu.cpuMs * 1000) / served;
  console.log(
    `\n## CPU profile of the server (${SECONDS} s, 16 connections closed loop: ${served} deliveries, ${(served / cpu.load.seconds).toFixed(0)}/s; server CPU ${cpu.cpuMs.toFixed(0)} ms = ${cpuUsPerDelivery.toFixed(0)} µs per delivery; ${busy} busy samples)\n`,
  );
  const share = (n: number) =>
    `${((100 * n) / busy).toFixed(1)} | ${((n / busy) * cpuUsPerDelivery).toFixed(1)}`;
  console.log('| area (self samples) | % of busy | ≈ µs per delivery |');
  console.log('|---|---:|---:|');
  for (const [a, n] of [...areas.entries()].sort((x, y) => y[1] - x[1]).slice(0, 25)) {
    console.log(`| ${a} | ${share(n)} |`);
  }
  console.log('\n| function (inclusive samples) | % of busy | ≈ µs per delivery |');
  console.log('|---|---:|---:|');
  for (const [k, n] of [...inclusive.entries()].sort((x, y) => y[1] - x[1])) {
    console.log(`| ${k} | ${share(n)} |`);
  }
  console.log(`\nProfile files: ${cpu.profileDir}`);
} finally {
  await crisp.close();
}
