// `bun run bench:retrieval`: ingestion throughput, search latency and RSS of the chunk index at
// 10k and 100k chunks across 10 chatbots, full-text only and with 384-dim fake vectors.
// Prints a table; asserts nothing. BENCH_SIZES=10000,100000 and BENCH_QUERIES=300 override.
import { prepareNativeEnv } from '../src/native-env.ts';

prepareNativeEnv();

const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
const { tmpdir, loadavg } = await import('node:os');
const { join } = await import('node:path');
const { LanceKnowledgeStore } = await import('../src/knowledge/index-store.ts');
const { searchKnowledge } = await import('../src/knowledge/search.ts');
const { searchTextOf } = await import('../src/knowledge/chunk-rows.ts');
const { chunkId } = await import('../src/knowledge/chunk.ts');
const { createLogger } = await import('../src/logging.ts');
const { openLance } = await import('../src/storage/lancedb/db.ts');
const { openDatabase } = await import('../src/storage/sqlite/db.ts');
const { FakeEmbedder } = await import('../test/knowledge/fake-embedder.ts');
type ChunkRow = import('../src/knowledge/index-store.ts').ChunkRow;
type Store = import('../src/knowledge/index-store.ts').LanceKnowledgeStore;

const SIZES = (Bun.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const QUERIES = Number(Bun.env.BENCH_QUERIES ?? 300);
const CHATBOTS = 10;
const DIMENSION = 384;
const BATCH = 5_000;

// Deterministic pseudo-random text: a Zipf-like vocabulary of 20k made-up words.
let seed = 42;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const syllables = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'sa',
  'ti',
  'vo',
  'ze',
  'po',
  'an',
  'el',
  'or',
  'us',
];
const vocabulary = Array.from({ length: 20_000 }, (_, i) => {
  let w = '';
  let n = i + 7;
  do {
    w += syllables[n % syllables.length];
    n = Math.floor(n / syllables.length);
  } while (n > 0);
  return w;
});
const word = () => vocabulary[Math.floor(vocabulary.length * rand() ** 2.5)] as string;
const sentence = (n: number) => Array.from({ length: n }, word).join(' ');

function makeRows(count: number): ChunkRow[] {
  return Array.from({ length: count }, (_, i) => {
    const chatbotId = `cb_${i % CHATBOTS}`;
    const sourceId = `src_${Math.floor(i / 5)}`;
    const title = sentence(5);
    const text = `${sentence(40 + Math.floor(rand() * 60))}.`;
    return {
      id: chunkId(sourceId, i % 5, text),
      chatbotId,
      sourceId,
      title,
      url: null,
      heading: '',
      position: i % 5,
      text,
      searchText: searchTextOf(title, [], text),
    };
  });
}

const log = createLogger('silent');
const mib = () => Math.round(process.memoryUsage().rss / 1_048_576);
/** The process's peak RSS so far (the kernel's high-water mark), in MiB. */
const peakMib = () =>
  Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

async function open(embedder: InstanceType<typeof FakeEmbedder> | null, dir: string) {
  const db = openDatabase(join(dir, 'answerdesk.sqlite'));
  const conn = await openLance(dir);
  const store = await LanceKnowledgeStore.open({
    conn,
    db,
    log,
    embedder,
    optimizeDelayMs: 3_600_000,
  });
  return {
    store,
    close: () => {
      store.close();
      db.close();
    },
  };
}

/** Latencies (ms) of `n` calls of `fn` with `concurrency` callers. */
async function measure(n: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await fn(i);
        times.push(performance.now() - t0);
      }
    }),
  );
  return { p50: pct(times, 50), p95: pct(times, 95) };
}

type Line = { label: string; value: string };

/**
 * One step of one configuration in its own process, so RSS is its own: `ingest` writes and
 * optimizes the data dir; `query` opens it like a restarted service and measures searches.
 * Prints one JSON line per result.
 */
async function runPhase(size: number, withVectors: boolean, step: string, dir: string) {
  const embedder = withVectors ? new FakeEmbedder(DIMENSION) : null;
  const { store, close } = await open(embedder, dir);
  const mode = withVectors ? 'vectors 384d' : 'full-text only';
  const emit = (label: string, value: string) =>
    console.log(JSON.stringify({ label: `${size} chunks, ${mode}: ${label}`, value }));
  if (step === 'ingest') {
    let t0 = performance.now();
    let generateMs = 0;
    for (let i = 0; i < size; i += BATCH) {
      const g0 = performance.now();
      const batch = makeRows(Math.min(BATCH, size - i));
      generateMs += performance.now() - g0;
      await store.add(batch, await store.embedRows(batch));
    }
    const ingestS = (performance.now() - t0 - generateMs) / 1000;
    emit('ingest', `${Math.round(size / ingestS)} chunks/s (${ingestS.toFixed(1)} s)`);
    emit('peak RSS of the writer during ingest', `${peakMib()} MiB`);
    t0 = performance.now();
    await store.settle();
    emit(
      'background optimize (FTS merge; vector index at ≥ 20k rows)',
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    emit('peak RSS of the writer, ingest + optimize', `${peakMib()} MiB`);
    Bun.gc(true);
    emit('RSS of the writer after ingest + optimize', `${mib()} MiB`);
    close();
    return;
  }
  const queries = Array.from({ length: QUERIES }, () => sentence(2 + Math.floor(rand() * 3)));
  const hybrid = (q: string, cb: string) =>
    searchKnowledge(store as Store, { chatbotId: cb, query: q, limit: 5 });
  const legs: [string, (q: string, cb: string) => Promise<unknown>][] = [
    ['full-text', (q, cb) => store.searchText(cb, q, 5)],
  ];
  if (withVectors && embedder) {
    legs.push(
      ['vector', (q, cb) => store.searchVector(cb, embedder.embedOne(q), 5)],
      ['hybrid', hybrid],
    );
  } else {
    legs.push(['searchKnowledge (full-text leg only)', hybrid]);
  }
  // The first search of each chatbot starts building its vocabulary (typo correction) in the
  // background; build them all now and time it, so the cells below measure a warm service.
  const t0 = performance.now();
  for (let c = 0; c < CHATBOTS; c++) store.vocabulary(`cb_${c}`);
  await store.settle();
  emit(
    `vocabulary build (typo correction), ${CHATBOTS} chatbots, one at a time`,
    `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  for (const [name, fn] of legs) {
    for (const concurrency of [1, 8]) {
      await measure(20, concurrency, (i) =>
        fn(queries[i % queries.length] as string, `cb_${i % CHATBOTS}`),
      );
      const r = await measure(QUERIES, concurrency, (i) =>
        fn(queries[i] as string, `cb_${i % CHATBOTS}`),
      );
      emit(
        `${name} search, concurrency ${concurrency}`,
        `p50 ${r.p50.toFixed(1)} ms  p95 ${r.p95.toFixed(1)} ms`,
      );
    }
  }
  Bun.gc(true);
  emit('RSS serving (fresh process, after all searches)', `${mib()} MiB`);
  close();
}

async function main() {
  const phase = process.argv.indexOf('--phase');
  if (phase >= 0) {
    const [size, mode, step, dir] = process.argv.slice(phase + 1);
    await runPhase(Number(size), mode === 'vectors', String(step), String(dir));
    return;
  }
  const table: Line[] = [];
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  console.log(
    `bench:retrieval — ${CHATBOTS} chatbots, chatbot filter on every query, ${QUERIES} queries per cell; load average at start ${load()}`,
  );
  for (const size of SIZES) {
    for (const mode of ['fts', 'vectors']) {
      const dir = mkdtempSync(join(tmpdir(), 'answerdesk-bench-'));
      try {
        for (const step of ['ingest', 'query']) {
          const child = Bun.spawn(
            ['bun', import.meta.path, '--phase', String(size), mode, step, dir],
            { stdout: 'pipe', stderr: 'inherit', env: Bun.env },
          );
          const out = await new Response(child.stdout).text();
          await child.exited;
          for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
            const l = JSON.parse(line) as Line;
            table.push(l);
            console.log(`${l.label.padEnd(72)} ${l.value}`);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  console.log(`load average at end ${load()}`);
  console.log('\n| measure | result |\n|---|---|');
  for (const l of table) console.log(`| ${l.label} | ${l.value} |`);
}

await main();
