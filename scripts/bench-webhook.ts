// `bun run bench:webhook`: the Crisp webhook's acknowledgement (durable commit included) and the
// webhook-in → reply-posted latency, against the real server (`bun run src/index.ts`, its own
// process) on loopback, with a fake Crisp and a fake Groq streaming at ~1,000 tokens/s in this one.
// Prints figures; asserts nothing; every phase is bounded.
// BENCH_ACK_REQUESTS=3000, BENCH_RATE_SECONDS=5, BENCH_REPLIES=40, BENCH_REPLY_TOKENS=200.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PLUGIN_TOKEN } from '../test/crisp/harness.ts';
import {
  delivery,
  startFakeCrisp,
  visitorMessage,
  WEBSITE_ID,
} from '../test/helpers/fake-crisp.ts';
import { fakeAnswer, startFakeGroq } from '../test/helpers/fake-groq.ts';

const ACK_REQUESTS = Number(Bun.env.BENCH_ACK_REQUESTS ?? 3_000);
const RATE_SECONDS = Number(Bun.env.BENCH_RATE_SECONDS ?? 5);
const REPLIES = Number(Bun.env.BENCH_REPLIES ?? 40);
const REPLY_TOKENS = Number(Bun.env.BENCH_REPLY_TOKENS ?? 200);
const TOKENS_PER_SECOND = 1_000;
const ADMIN = 'bench-admin-token-0123456789';
const ENTRY = resolve(import.meta.dir, '../src/index.ts');

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (n: number) => `${n.toFixed(2)} ms`;

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

const posted = new Map<string, number>();
const crisp = startFakeCrisp({
  tokens: [PLUGIN_TOKEN],
  websites: [WEBSITE_ID],
  onMessage: (m) => {
    if (m.type === 'text' && !posted.has(m.session_id)) posted.set(m.session_id, performance.now());
  },
});
const groq = await startFakeGroq({ tokensPerSecond: TOKENS_PER_SECOND });
// ~REPLY_TOKENS tokens of 4 characters each.
const replyText = 'Refunds are processed within five business days. '
  .repeat(Math.ceil((REPLY_TOKENS * 4) / 50))
  .slice(0, REPLY_TOKENS * 4);
groq.setDefault(() => fakeAnswer(replyText));

type Server = { url: string; stop: () => Promise<void> };

async function startServer(dataDir: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const proc = Bun.spawn([process.execPath, 'run', ENTRY], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? dataDir,
      TMPDIR: process.env.TMPDIR ?? tmpdir(),
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      SECRET_KEY: 'bench-secret-key-0123456789abcdef',
      CRISP_API_URL: crisp.url,
      GROQ_BASE_URL: groq.baseUrl,
      GROQ_API_KEY: 'bench-key',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('server did not start');
    }
    await Bun.sleep(50); // start-up polling
  }
  return {
    url,
    stop: async () => {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await proc.exited;
      clearTimeout(killer);
    },
  };
}

async function connectedBot(url: string) {
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
  return String(connected.webhookUrl).replace(/^https?:\/\/[^/]+/, url);
}

let sequence = 0;
async function post(webhookUrl: string): Promise<number> {
  const n = ++sequence;
  const init = delivery(visitorMessage(`bench question ${n}`, { sessionId: `session_bench_${n}` }));
  const t0 = performance.now();
  const res = await fetch(webhookUrl, init);
  await res.arrayBuffer();
  const dt = performance.now() - t0;
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
  return dt;
}

async function closedLoop(webhookUrl: string, concurrency: number, total: number) {
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < total) {
        issued++;
        latencies.push(await post(webhookUrl));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { latencies, rps: total / seconds };
}

async function openLoop(send: () => Promise<number>, rate: number, seconds: number) {
  const latencies: number[] = [];
  const total = rate * seconds;
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait); // pacing the offered load
    inflight.push(send().then((dt) => void latencies.push(dt)));
  }
  await Promise.all(inflight);
  return { latencies, achieved: total / ((performance.now() - started) / 1000) };
}

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'answerdesk-bench-webhook-'));
  dirs.push(d);
  return d;
};

try {
  console.log(
    `bench:webhook — ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, server: bun run src/index.ts, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (other processes skew the tail)`,
  );

  // Phase 1: acknowledgement. Jobs are committed but scheduled a minute out (burst window), so
  // the server measures the webhook path alone: verify, parse, dedupe, INSERT + COMMIT, 200.
  const ackServer = await startServer(dataDir(), { CRISP_BURST_WINDOW_MS: '60000' });
  try {
    const url = await connectedBot(ackServer.url);
    for (let i = 0; i < 200; i++) await post(url); // warm-up
    console.log('\nwebhook acknowledgement (durable job commit included)');
    console.log('  concurrency   requests    req/s      p50        p99        max');
    for (const c of [1, 16, 64]) {
      const { latencies, rps } = await closedLoop(url, c, ACK_REQUESTS);
      console.log(
        `  ${String(c).padStart(11)} ${String(ACK_REQUESTS).padStart(10)} ${rps.toFixed(0).padStart(8)} ${ms(pct(latencies, 50)).padStart(10)} ${ms(pct(latencies, 99)).padStart(10)} ${ms(Math.max(...latencies)).padStart(10)}`,
      );
    }
    const open = await openLoop(() => post(url), 500, RATE_SECONDS);
    console.log(
      `  open loop at 500 req/s for ${RATE_SECONDS} s: achieved ${open.achieved.toFixed(0)} req/s, p50 ${ms(pct(open.latencies, 50))}, p99 ${ms(pct(open.latencies, 99))} (target p99 ≤ 10 ms)`,
    );
    // The same load on GET /healthz (no body, no SQLite): the floor this machine allows now.
    const floor = await openLoop(
      async () => {
        const t0 = performance.now();
        await (await fetch(`${ackServer.url}/healthz`)).arrayBuffer();
        return performance.now() - t0;
      },
      500,
      RATE_SECONDS,
    );
    console.log(
      `  reference: GET /healthz at 500 req/s: p50 ${ms(pct(floor.latencies, 50))}, p99 ${ms(pct(floor.latencies, 99))}`,
    );
  } finally {
    await ackServer.stop();
  }

  // Phase 2: webhook in → reply posted, one conversation at a time, burst window 0 (a real
  // deployment adds its configured window, default 2 s, on purpose).
  const replyServer = await startServer(dataDir(), { CRISP_BURST_WINDOW_MS: '0' });
  try {
    const url = await connectedBot(replyServer.url);
    const totals: number[] = [];
    const llm: number[] = [];
    const overhead: number[] = [];
    for (let i = 0; i < REPLIES + 3; i++) {
      const n = ++sequence;
      const sessionId = `session_reply_${n}`;
      const question = `reply question ${n}`;
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
    console.log(
      `\nwebhook in → reply posted (${REPLIES} conversations, ~${REPLY_TOKENS} tokens at ${TOKENS_PER_SECOND} tokens/s)`,
    );
    console.log(`  total     p50 ${ms(pct(totals, 50))}  p95 ${ms(pct(totals, 95))}`);
    console.log(`  LLM       p50 ${ms(pct(llm, 50))}  p95 ${ms(pct(llm, 95))}`);
    console.log(
      `  overhead  p50 ${ms(pct(overhead, 50))}  p95 ${ms(pct(overhead, 95))} (target p50 ≤ 100 ms)`,
    );
  } finally {
    await replyServer.stop();
  }
} finally {
  await groq.stop();
  await crisp.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
