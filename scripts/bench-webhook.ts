// `bun run bench:webhook`: the Crisp webhook's acknowledgement (durable commit included) against
// the real server on 127.0.0.1, side by side with GET /healthz of the same server, plus
// webhook-in → reply-posted latency. Prints figures and the targets; asserts nothing; bounded.
//
// Servers: this tree's `bun run src/index.ts`; with BENCH_BASELINE=<git ref>[,<ref>…] also those
// commits' sources (extracted to temp dirs, sharing node_modules), with BENCH_BINARY=1 also
// dist/answerdesk (built when missing). Each phase runs on each of them in turn, so a comparison
// shares the machine's moment. Each server has a chatbot connected through a fake Crisp on loopback.
//
// Phases: bursts (autocannon, 64 connections, unthrottled) on the webhook and /healthz; open-loop
// runs at fixed rates (16 connections, latency counted from the scheduled send: scripts/bench-load.ts);
// a closed-loop run during which the server is killed with SIGKILL; then every acknowledged
// delivery is looked up in the server's SQLite file. Each delivery is a distinct visitor message
// (own session and fingerprint), so deduplication never short-cuts one.
// The worker stays idle during the ack phases: CRISP_BURST_WINDOW_MS=60000 schedules every reply a
// minute out and each server (fresh ones per phase) is done before that; the bench counts the
// jobs that ran anyway (must be 0).
// The reply phase uses a fake Groq (1,000 tokens/s) with the burst window at 0.
//
// Knobs: BENCH_BURST_SECONDS=5, BENCH_RATE_SECONDS=8, BENCH_RATES=500,1000 (empty: bursts only), BENCH_REPLIES=40
// (0 skips), BENCH_LOG_LEVEL=info (the server's LOG_LEVEL; its stdout goes to a file),
// BENCH_CPU_PROF=<dir> (source servers run with --cpu-prof --cpu-prof-md into <dir>/<server>-<phase>).
import { Database } from 'bun:sqlite';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { PLUGIN_TOKEN } from '../test/crisp/harness.ts';
import {
  delivery,
  startFakeCrisp,
  visitorMessage,
  WEBSITE_ID,
} from '../test/helpers/fake-crisp.ts';
import { fakeAnswer, startFakeGroq } from '../test/helpers/fake-groq.ts';
import {
  closedLoop,
  getRequest,
  type LoadResult,
  openLoop,
  percentile,
  postJson,
} from './bench-load.ts';

const BURST_SECONDS = Number(Bun.env.BENCH_BURST_SECONDS ?? 5);
const RATE_SECONDS = Number(Bun.env.BENCH_RATE_SECONDS ?? 8);
const RATES = (Bun.env.BENCH_RATES ?? '500,1000').split(',').filter(Boolean).map(Number);
const REPLIES = Number(Bun.env.BENCH_REPLIES ?? 40);
const LOG_LEVEL = Bun.env.BENCH_LOG_LEVEL ?? 'info';
const CPU_PROF = Bun.env.BENCH_CPU_PROF ? resolve(Bun.env.BENCH_CPU_PROF) : null;
const BURST_CONNECTIONS = 64;
const OPEN_CONNECTIONS = 16;
const REPLY_TOKENS = 200;
const TOKENS_PER_SECOND = 1_000;
/** CRISP_BURST_WINDOW_MS during the ack phases (its maximum): no reply job falls due before. */
const IDLE_WINDOW_MS = 60_000;
const ADMIN = 'bench-admin-token-0123456789';
const ROOT = resolve(import.meta.dir, '..');
const HOST = '127.0.0.1';
const QUEUED = '"action":"queued"';

const TARGET_BURST_RATIO = 0.5;
const TARGET_P99_MS = 5;

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, HOST, () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? done(a.port) : fail(new Error('no port'))));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Servers under test.

type Target = { name: string; command: (profileDir: string | null) => string[] };

const temp: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temp.push(d);
  return d;
};

const bunRun = (entry: string) => (profileDir: string | null) => [
  process.execPath,
  ...(profileDir ? ['--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${profileDir}`] : []),
  'run',
  entry,
];

async function targets(): Promise<Target[]> {
  const list: Target[] = [];
  for (const baseline of (Bun.env.BENCH_BASELINE ?? '').split(',').filter(Boolean)) {
    const dir = tempDir('answerdesk-bench-baseline-');
    const archive = Bun.spawnSync(['git', '-C', ROOT, 'archive', baseline, 'src', 'package.json']);
    if (archive.exitCode !== 0) throw new Error(`git archive ${baseline} failed`);
    Bun.spawnSync(['tar', '-x', '-C', dir], { stdin: archive.stdout });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const rev = Bun.spawnSync(['git', '-C', ROOT, 'rev-parse', '--short', baseline]);
    const short = rev.stdout.toString().trim();
    list.push({
      name: baseline === short ? short : `${baseline} (${short})`,
      command: bunRun(join(dir, 'src/index.ts')),
    });
  }
  list.push({ name: 'this tree', command: bunRun(join(ROOT, 'src/index.ts')) });
  if (Bun.env.BENCH_BINARY === '1') {
    const binary = join(ROOT, 'dist/answerdesk');
    if (!existsSync(binary)) {
      const build = Bun.spawnSync([process.execPath, 'run', 'build'], { cwd: ROOT });
      if (build.exitCode !== 0) throw new Error('bun run build failed');
    }
    list.push({ name: 'binary', command: () => [binary] });
  }
  return list;
}

type Server = {
  target: Target;
  port: number;
  dataDir: string;
  webhookPath: string;
  /** performance.now() of the first webhook delivery (the worker's idle window starts there). */
  firstDeliveryAt: number | null;
  /** Deliveries answered 200 "queued" over the server's life. */
  acked: number;
  /** Deliveries sent over the server's life (answered or not). */
  sent: number;
  proc: ReturnType<typeof Bun.spawn>;
};

async function startServer(target: Target, env: Record<string, string>, phase: string) {
  const port = await freePort();
  const dataDir = tempDir('answerdesk-bench-webhook-');
  let profileDir: string | null = null;
  if (CPU_PROF && target.name !== 'binary') {
    profileDir = join(CPU_PROF, `${target.name.replace(/[^A-Za-z0-9]+/g, '-')}-${phase}`);
    mkdirSync(profileDir, { recursive: true });
  }
  const proc = Bun.spawn(target.command(profileDir), {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? dataDir,
      TMPDIR: process.env.TMPDIR ?? tmpdir(),
      HOST,
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      SECRET_KEY: 'bench-secret-key-0123456789abcdef',
      // Measured offline: no model pulled in the background during the measurement.
      MODEL_AUTO_PULL: 'false',
      CRISP_API_URL: crisp.url,
      GROQ_BASE_URL: groq.baseUrl,
      GROQ_API_KEY: 'bench-key',
      LOG_LEVEL,
      ...env,
    },
    stdout: Bun.file(join(dataDir, 'stdout.log')),
    stderr: 'inherit',
  });
  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${target.name}: server did not start`);
    }
    await Bun.sleep(50); // start-up polling
  }
  const server: Server = {
    target,
    port,
    dataDir,
    webhookPath: await connectedBot(url),
    firstDeliveryAt: null,
    acked: 0,
    sent: 0,
    proc,
  };
  return server;
}

async function stopServer(server: Server, signal: 'SIGTERM' | 'SIGKILL') {
  server.proc.kill(signal);
  const killer = setTimeout(() => server.proc.kill('SIGKILL'), 15_000);
  await server.proc.exited;
  clearTimeout(killer);
}

async function connectedBot(url: string): Promise<string> {
  const admin = (path: string, method: string, json: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(json),
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
  const bot = await admin('/api/v1/chatbots', 'POST', {
    name: 'bench',
    quota: { burstMessages: 10_000 },
  });
  const connected = await admin(`/api/v1/chatbots/${bot.id}/integrations/crisp`, 'PUT', {
    websiteId: WEBSITE_ID,
    tokenIdentifier: PLUGIN_TOKEN.identifier,
    tokenKey: PLUGIN_TOKEN.key,
  });
  return String(connected.webhookUrl).replace(/^https?:\/\/[^/]+/, '');
}

/** A visitor message of its own session and fingerprint (`fp_<id>`): never a duplicate. */
function deliveryBody(id: string): string {
  const m = visitorMessage(`bench question ${id}`, { sessionId: `session_${id}` });
  return JSON.stringify({ ...m, data: { ...m.data, fingerprint: `fp_${id}` } });
}

const webhookRequest = (server: Server, prefix: string) => (i: number) => {
  const id = `${prefix}_${i}`;
  return { id, bytes: postJson(`${HOST}:${server.port}`, server.webhookPath, deliveryBody(id)) };
};
const healthzRequest = (server: Server) => () => ({
  id: '',
  bytes: getRequest(`${HOST}:${server.port}`, '/healthz'),
});

function countDeliveries(server: Server, result: LoadResult) {
  server.firstDeliveryAt ??= performance.now() - result.seconds * 1000;
  server.sent += result.sent;
  server.acked += result.ok;
}

/** What the server's SQLite holds after it stopped (opened as the next start would). */
function stored(server: Server) {
  const db = new Database(join(server.dataDir, 'answerdesk.sqlite'));
  try {
    const inbox = db.query<{ n: number }, []>('SELECT COUNT(*) AS n FROM crisp_inbox').get()!.n;
    const jobs = db
      .query<{ n: number }, []>("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'crisp.reply'")
      .get()!.n;
    const ran = db
      .query<{ n: number }, []>("SELECT COUNT(*) AS n FROM jobs WHERE state != 'pending'")
      .get()!.n;
    const fingerprints = new Set(
      db
        .query<{ fingerprint: string }, []>('SELECT fingerprint FROM crisp_inbox')
        .all()
        .map((r) => r.fingerprint),
    );
    return { inbox, jobs, ran, fingerprints };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Phases.

/** CPU time (user + system, all threads) the process used so far, in ms (Linux /proc). */
function cpuTimeMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second here).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

type Burst = {
  rps: number;
  ok: number;
  sent: number;
  bad: number;
  p50: number;
  p99: number;
  /** Server CPU time per answered request, in µs: what one request costs whatever the load. */
  cpuUs: number;
};

async function burst(server: Server, path: 'webhook' | 'healthz'): Promise<Burst> {
  const webhook = path === 'webhook';
  const cpuBefore = cpuTimeMs(server.proc.pid);
  const result = await autocannon({
    url: `http://${HOST}:${server.port}${webhook ? server.webhookPath : '/healthz'}`,
    connections: BURST_CONNECTIONS,
    duration: BURST_SECONDS,
    ...(webhook
      ? {
          method: 'POST' as const,
          headers: { 'content-type': 'application/json' },
          body: deliveryBody('[<id>]'),
          idReplacement: true,
        }
      : {}),
  });
  const ok = result['2xx'];
  if (webhook) {
    server.firstDeliveryAt ??= performance.now() - BURST_SECONDS * 1000;
    server.sent += result.requests.sent;
    server.acked += ok;
  }
  return {
    rps: ok / BURST_SECONDS,
    ok,
    sent: result.requests.sent,
    bad: result.non2xx + result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: ((cpuTimeMs(server.proc.pid) - cpuBefore) * 1000) / result.requests.sent,
  };
}

const warmUp = async (server: Server) => {
  const base = { host: HOST, port: server.port, seconds: 1, connections: OPEN_CONNECTIONS };
  countDeliveries(
    server,
    await closedLoop({ ...base, request: webhookRequest(server, 'warm'), okMarker: QUEUED }),
  );
  await closedLoop({ ...base, request: healthzRequest(server) });
};

type Open = { result: LoadResult; cpuUs: number; p50: number; p90: number; p99: number };

async function open(server: Server, rate: number, path: 'webhook' | 'healthz'): Promise<Open> {
  const webhook = path === 'webhook';
  const cpuBefore = cpuTimeMs(server.proc.pid);
  const result = await openLoop({
    host: HOST,
    port: server.port,
    rate,
    seconds: webhook ? RATE_SECONDS : Math.ceil(RATE_SECONDS / 2),
    connections: OPEN_CONNECTIONS,
    request: webhook ? webhookRequest(server, `open${rate}`) : healthzRequest(server),
    ...(webhook ? { okMarker: QUEUED } : {}),
  });
  const cpuUs = ((cpuTimeMs(server.proc.pid) - cpuBefore) * 1000) / result.sent;
  if (webhook) countDeliveries(server, result);
  const l = result.latencyMs;
  return { result, cpuUs, p50: percentile(l, 50), p90: percentile(l, 90), p99: percentile(l, 99) };
}

/** Deliveries keep coming while the server is killed: every one answered "queued" must be there. */
async function crashCheck(server: Server) {
  const run = closedLoop({
    host: HOST,
    port: server.port,
    seconds: 5,
    connections: OPEN_CONNECTIONS,
    request: webhookRequest(server, 'crash'),
    okMarker: QUEUED,
  });
  await Bun.sleep(1_000); // let the load run before the kill
  server.proc.kill('SIGKILL');
  await server.proc.exited;
  const result = await run;
  countDeliveries(server, result);
  const after = stored(server);
  const missing = result.okIds.filter((id) => !after.fingerprints.has(`fp_${id}`)).length;
  return { ackedBeforeKill: result.ok, missing, after };
}

// ---------------------------------------------------------------------------------------------
// Reply latency (this tree only): webhook in → reply posted, one conversation at a time.

async function replyLatency(target: Target) {
  const server = await startServer(target, { CRISP_BURST_WINDOW_MS: '0' }, 'reply');
  const url = `http://${HOST}:${server.port}${server.webhookPath}`;
  try {
    const totals: number[] = [];
    const llm: number[] = [];
    const overhead: number[] = [];
    for (let i = 0; i < REPLIES + 3; i++) {
      const sessionId = `session_reply_${i}`;
      const question = `reply question ${i}`;
      const t0 = performance.now();
      const res = await fetch(url, delivery(visitorMessage(question, { sessionId })));
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      const deadline = Date.now() + 20_000;
      while (!posted.has(sessionId)) {
        if (Date.now() > deadline) throw new Error('reply not posted in 20 s');
        await Bun.sleep(1); // polling the fake Crisp for the posted reply
      }
      const request = groq.requests.find((r) =>
        r.body.messages.some((m) => m.content.includes(question)),
      );
      if (!request) throw new Error('no LLM request seen');
      const llmEnd = await request.closed.then(() => performance.now());
      const total = posted.get(sessionId)! - t0;
      // The LLM's own time: its request arriving → its stream ending (as the fake saw it).
      const llmMs = Math.min(total, llmEnd - request.receivedAt);
      if (i < 3) continue; // warm-up
      totals.push(total);
      llm.push(llmMs);
      overhead.push(total - llmMs);
    }
    return { totals, llm, overhead };
  } finally {
    await stopServer(server, 'SIGTERM');
  }
}

// ---------------------------------------------------------------------------------------------

const posted = new Map<string, number>();
const crisp = startFakeCrisp({
  tokens: [PLUGIN_TOKEN],
  websites: [WEBSITE_ID],
  onMessage: (m) => {
    if (m.type === 'text' && !posted.has(m.session_id)) posted.set(m.session_id, performance.now());
  },
});
const groq = await startFakeGroq({ tokensPerSecond: TOKENS_PER_SECOND });
const replyText = 'Refunds are processed within five business days. '
  .repeat(Math.ceil((REPLY_TOKENS * 4) / 50))
  .slice(0, REPLY_TOKENS * 4);
groq.setDefault(() => fakeAnswer(replyText));

function printTable(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

const mark = (ok: boolean) => (ok ? '✓' : '✗');

try {
  const list = await targets();
  console.log(
    `bench:webhook — ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, LOG_LEVEL=${LOG_LEVEL}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )} at start (other processes skew the tail); servers: ${list.map((t) => t.name).join(', ')}`,
  );
  const idle = { CRISP_BURST_WINDOW_MS: String(IDLE_WINDOW_MS) };

  // Bursts: a fresh server per target (its life stays inside the idle window): healthz, then
  // the webhook, back to back.
  const bursts = new Map<Target, { healthz: Burst; webhook: Burst; server: Server }>();
  const burstStored = new Map<Target, ReturnType<typeof stored>>();
  for (const target of list) {
    const server = await startServer(target, idle, 'burst');
    await warmUp(server);
    const healthz = await burst(server, 'healthz');
    const webhook = await burst(server, 'webhook');
    bursts.set(target, { healthz, webhook, server });
    await stopServer(server, 'SIGTERM');
    burstStored.set(target, stored(server));
  }

  // Open loop: a fresh server per rate and target; the last rate's servers also take /healthz
  // and the kill -9 check, the others are killed with SIGKILL and counted.
  const opens = new Map<Target, Map<string, Open>>(list.map((t) => [t, new Map()]));
  const openServers = new Map<Target, Server[]>(list.map((t) => [t, []]));
  const killed = new Map<Server, ReturnType<typeof stored>>();
  const crashes = new Map<Target, Awaited<ReturnType<typeof crashCheck>>>();
  const refRate = RATES[RATES.length - 1] ?? 0;
  for (const [n, rate] of RATES.entries()) {
    for (const target of list) {
      const server = await startServer(target, idle, `open${rate}`);
      await warmUp(server);
      openServers.get(target)!.push(server);
      opens.get(target)!.set(`webhook ${rate}`, await open(server, rate, 'webhook'));
      if (n < RATES.length - 1) {
        await stopServer(server, 'SIGKILL');
        killed.set(server, stored(server));
        continue;
      }
      opens.get(target)!.set(`healthz ${refRate}`, await open(server, refRate, 'healthz'));
      const crash = await crashCheck(server);
      crashes.set(target, crash);
      killed.set(server, crash.after);
    }
  }

  // The table: one column per server.
  const rows: string[][] = [];
  const row = (label: string, cell: (t: Target) => string) => rows.push([label, ...list.map(cell)]);
  row(`webhook burst, ${BURST_CONNECTIONS} conn (req/s)`, (t) => int(bursts.get(t)!.webhook.rps));
  row(`/healthz burst, ${BURST_CONNECTIONS} conn (req/s)`, (t) => int(bursts.get(t)!.healthz.rps));
  row(`webhook / healthz (target ≥ ${TARGET_BURST_RATIO * 100} %)`, (t) => {
    const b = bursts.get(t)!;
    const ratio = b.webhook.rps / b.healthz.rps;
    return `${fmt(ratio * 100, 0)} % ${mark(ratio >= TARGET_BURST_RATIO)}`;
  });
  row('server CPU per request, webhook / healthz (µs)', (t) => {
    const b = bursts.get(t)!;
    return `${int(b.webhook.cpuUs)} / ${int(b.healthz.cpuUs)}`;
  });
  row('webhook burst p50 / p99 (ms)', (t) => {
    const b = bursts.get(t)!.webhook;
    return `${b.p50} / ${b.p99}`;
  });
  for (const rate of RATES) {
    const target = rate >= 1_000 ? ` (target p99 ≤ ${TARGET_P99_MS} ms)` : '';
    row(`webhook ${rate} req/s open loop p50 / p90 / p99 (ms)${target}`, (t) => {
      const o = opens.get(t)!.get(`webhook ${rate}`)!;
      const verdict = rate >= 1_000 ? ` ${mark(o.p99 <= TARGET_P99_MS)}` : '';
      return `${fmt(o.p50)} / ${fmt(o.p90)} / ${fmt(o.p99)}${verdict}`;
    });
    row('  achieved req/s; CPU µs/req; service p99; generator lag p99 (ms)', (t) => {
      const o = opens.get(t)!.get(`webhook ${rate}`)!;
      const r = o.result;
      return `${int(r.ok / r.seconds)}; ${int(o.cpuUs)}; ${fmt(percentile(r.serviceMs, 99))}; ${fmt(percentile(r.lagMs, 99))}`;
    });
  }
  if (RATES.length > 0) {
    row(`/healthz ${refRate} req/s open loop p50 / p90 / p99 (ms)`, (t) => {
      const o = opens.get(t)!.get(`healthz ${refRate}`)!;
      return `${fmt(o.p50)} / ${fmt(o.p90)} / ${fmt(o.p99)}`;
    });
  }
  row('burst server: stored / acked / sent (after SIGTERM)', (t) => {
    const b = bursts.get(t)!;
    const s = burstStored.get(t)!;
    return `${s.inbox} / ${b.server.acked} / ${b.server.sent} ${mark(s.inbox >= b.server.acked && s.inbox <= b.server.sent && s.jobs === s.inbox)}`;
  });
  if (RATES.length > 0) {
    row('open-loop servers: stored / acked / sent (after kill -9)', (t) => {
      let inbox = 0;
      let acked = 0;
      let sent = 0;
      let ok = true;
      for (const server of openServers.get(t)!) {
        const after = killed.get(server)!;
        inbox += after.inbox;
        acked += server.acked;
        sent += server.sent;
        ok &&=
          after.inbox >= server.acked && after.inbox <= server.sent && after.jobs === after.inbox;
      }
      return `${inbox} / ${acked} / ${sent} ${mark(ok)}`;
    });
    row('kill -9 under load: acked before the kill, missing after', (t) => {
      const c = crashes.get(t)!;
      return `${c.ackedBeforeKill}, ${c.missing} ${mark(c.missing === 0)}`;
    });
  }
  row('reply jobs run during the measurement (must be 0)', (t) => {
    const ran =
      burstStored.get(t)!.ran +
      openServers.get(t)!.reduce((n, server) => n + killed.get(server)!.ran, 0);
    return `${ran} ${mark(ran === 0)}`;
  });
  console.log('');
  printTable(
    ['webhook acknowledgement, durable commit included', ...list.map((t) => t.name)],
    rows,
  );
  const bad = [...bursts.values()].reduce((n, b) => n + b.webhook.bad + b.healthz.bad, 0);
  if (bad > 0) console.log(`  ${bad} burst requests failed or answered non-2xx`);
  console.log(
    `  open loop: ${OPEN_CONNECTIONS} connections, latency from the scheduled send (queueing included), ${RATE_SECONDS} s per rate; bursts: autocannon, ${BURST_SECONDS} s; load average now ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  if (REPLIES > 0) {
    const current = list.find((t) => t.name === 'this tree')!;
    const { totals, llm, overhead } = await replyLatency(current);
    console.log(
      `\nwebhook in → reply posted (this tree, ${REPLIES} conversations, ~${REPLY_TOKENS} tokens at ${TOKENS_PER_SECOND} tokens/s, burst window 0)`,
    );
    const ms = (v: number[]) =>
      `p50 ${fmt(percentile(v, 50))} ms  p95 ${fmt(percentile(v, 95))} ms`;
    console.log(`  total     ${ms(totals)}`);
    console.log(`  LLM       ${ms(llm)}`);
    console.log(`  overhead  ${ms(overhead)} (target p50 ≤ 100 ms)`);
  }
} finally {
  await groq.stop();
  await crisp.close();
  for (const d of temp) rmSync(d, { recursive: true, force: true });
}
