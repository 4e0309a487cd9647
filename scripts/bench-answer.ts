// `bun run bench:answer`: the answer pipeline's own overhead and the playground's total time,
// against the fake Groq streaming at ~1,000 tokens/s, over a 10k-chunk knowledge base.
// Overhead = request in → the answer request reaches the LLM (no rewrite call: first messages;
// retrieval, history and prompt included). Prints figures; asserts nothing.
// BENCH_CHUNKS=10000, BENCH_RUNS=200, BENCH_TOTAL_RUNS=20, BENCH_VECTORS=1 (0: full-text only).
import { prepareNativeEnv } from '../src/native-env.ts';

prepareNativeEnv();

const { buildTestApp } = await import('../test/helpers/app.ts');
const { startFakeGroq, fakeAnswer } = await import('../test/helpers/fake-groq.ts');
const { FakeEmbedder } = await import('../test/knowledge/fake-embedder.ts');
const { addTextSources } = await import('../src/sources/bulk.ts');

const CHUNKS = Number(Bun.env.BENCH_CHUNKS ?? 10_000);
const RUNS = Number(Bun.env.BENCH_RUNS ?? 200);
const TOTAL_RUNS = Number(Bun.env.BENCH_TOTAL_RUNS ?? 20);
const VECTORS = (Bun.env.BENCH_VECTORS ?? '1') !== '0';
const TOKENS_PER_SECOND = 1_000;
const ANSWER_TOKENS = 200;

let seed = 7;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const topics = ['refund', 'shipping', 'invoice', 'password', 'warranty', 'delivery', 'account'];
const fillers =
  'the a our your order parcel customer support team days week price plan store'.split(' ');
const vocabulary = Array.from({ length: 5_000 }, (_, i) => `w${i.toString(36)}`);
const word = () =>
  rand() < 0.3
    ? (fillers[Math.floor(rand() * fillers.length)] as string)
    : (vocabulary[Math.floor(vocabulary.length * rand() ** 2)] as string);
const sentence = (n: number) => Array.from({ length: n }, word).join(' ');

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

const groq = await startFakeGroq({ tokensPerSecond: TOKENS_PER_SECOND });
const t = await buildTestApp(
  { GROQ_BASE_URL: groq.baseUrl, GROQ_API_KEY: 'bench-key' },
  { embedder: VECTORS ? new FakeEmbedder(384) : null },
);
try {
  const res = await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'Bench' } });
  const chatbotId = ((await res.json()) as { id: string }).id;
  const ingestStartedAt = performance.now();
  const docs = Array.from({ length: CHUNKS }, (_, i) => {
    const topic = topics[i % topics.length] as string;
    return {
      title: `${topic} ${sentence(3)}`,
      url: `https://bench.test/${i}`,
      // ~60 words: one chunk per document.
      text: `${topic} ${sentence(60)}.`,
    };
  });
  await addTextSources(t.deps.sources, chatbotId, docs);
  await t.deps.knowledge.settle();
  const ingestMs = performance.now() - ingestStartedAt;

  // The answer: ~200 tokens of 4 characters at 1,000 tokens/s.
  const answerText = `${'Yes, '.repeat(1)}${'abcd'.repeat(ANSWER_TOKENS - 8)} [1].`;
  groq.setDefault((req) => (req.kind === 'answer' ? fakeAnswer(answerText) : fakeAnswer('unused')));

  const post = (message: string, conversationId: string, stream = false) =>
    t.app.handle(
      new Request(`http://localhost/api/v1/chatbots/${chatbotId}/chat`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer test-admin-token-0123456789',
          'content-type': 'application/json',
          ...(stream ? { accept: 'text/event-stream' } : {}),
        },
        body: JSON.stringify({ message, conversationId }),
      }),
    );

  // Warm-up (JIT, LanceDB caches).
  for (let i = 0; i < 10; i++) await (await post(`how do I get a refund ${i}`, `warm-${i}`)).json();

  // 1. Own overhead: request in → answer request received by the fake Groq.
  const overhead: number[] = [];
  const reported: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    groq.reset();
    const topic = topics[i % topics.length];
    const startedAt = performance.now();
    const body = (await (
      await post(`How does ${topic} work for my order ${word()}?`, `o-${i}`)
    ).json()) as {
      handoff: boolean;
    };
    const received = groq.requests.find((r) => r.kind === 'answer');
    if (!received || body.handoff) throw new Error('bench: the answer call did not happen');
    overhead.push(received.receivedAt - startedAt);
    reported.push(performance.now() - startedAt);
  }

  // 2. Total playground time for a 200-token answer (JSON) and time to first SSE token.
  const total: number[] = [];
  const firstToken: number[] = [];
  for (let i = 0; i < TOTAL_RUNS; i++) {
    const startedAt = performance.now();
    await (await post(`How long does a refund take ${i}?`, `t-${i}`)).json();
    total.push(performance.now() - startedAt);
    const streamStartedAt = performance.now();
    const res = await post(`How long does a refund take ${i}?`, `s-${i}`, true);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    let first = NaN;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
      if (Number.isNaN(first) && seen.includes('event: token')) {
        first = performance.now() - streamStartedAt;
      }
    }
    firstToken.push(first);
  }

  console.log(
    `bench:answer — ${CHUNKS} chunks (${VECTORS ? 'hybrid: full-text + 384-dim fake vectors' : 'full-text only'}), fake Groq at ${TOKENS_PER_SECOND} tokens/s, Bun ${Bun.version}`,
  );
  console.log(`  ingest ${CHUNKS} chunks: ${(ingestMs / 1000).toFixed(1)} s`);
  console.log(
    `  own overhead (request in → LLM request), ${RUNS} runs: p50 ${fmt(pct(overhead, 50))}  p95 ${fmt(pct(overhead, 95))}  (target p50 ≤ 30 ms)`,
  );
  console.log(
    `  playground total, ${ANSWER_TOKENS}-token answer (JSON), ${TOTAL_RUNS} runs: p50 ${fmt(pct(total, 50))}  p95 ${fmt(pct(total, 95))}`,
  );
  console.log(
    `  playground SSE time to first token, ${TOTAL_RUNS} runs: p50 ${fmt(pct(firstToken, 50))}  p95 ${fmt(pct(firstToken, 95))}`,
  );
} finally {
  t.deps.knowledge.close();
  await t.close();
  await groq.stop();
}
