// A local fake of an OpenAI-compatible `POST /embeddings` on 127.0.0.1, switchable to the failures
// a real endpoint shows (429 with retry-after, 500, slow, wrong dimension, malformed JSON).

export type FakeEmbeddingsMode =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'wrong-dimension'; dimension: number }
  | { kind: 'malformed' };

export type FakeEmbeddingsRequest = {
  model: string;
  input: string[];
  authorization: string | null;
};

/** A deterministic vector per text: hashed words, so texts sharing words point the same way. */
export function fakeVector(text: string, dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(0);
  for (const word of text.toLowerCase().split(/\W+/).filter(Boolean)) {
    let h = 2166136261;
    for (const ch of word) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    vector[h % dimension] = (vector[h % dimension] ?? 0) + 1;
  }
  vector[0] = (vector[0] ?? 0) + 0.01; // never all zeros
  return vector;
}

export function startFakeEmbeddings(options: { dimension?: number } = {}) {
  const dimension = options.dimension ?? 8;
  const requests: FakeEmbeddingsRequest[] = [];
  /** Modes consumed one per request; when empty, `fallback` answers. */
  const queue: FakeEmbeddingsMode[] = [];
  let fallback: FakeEmbeddingsMode = { kind: 'ok' };
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method !== 'POST' || url.pathname !== '/v1/embeddings') {
        return new Response('not found', { status: 404 });
      }
      const body = (await request.json()) as { model: string; input: string[] };
      requests.push({ ...body, authorization: request.headers.get('authorization') });
      for (const w of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const mode = queue.shift() ?? fallback;
      switch (mode.kind) {
        case 'status':
          return new Response(JSON.stringify({ error: { message: 'fake failure' } }), {
            status: mode.status,
            headers: mode.retryAfter ? { 'retry-after': mode.retryAfter } : {},
          });
        case 'malformed':
          return new Response('{"data": [', { headers: { 'content-type': 'application/json' } });
        case 'slow':
          await Bun.sleep(mode.delayMs);
          break;
        default:
          break;
      }
      const size = mode.kind === 'wrong-dimension' ? mode.dimension : dimension;
      return Response.json({
        object: 'list',
        model: body.model,
        // Reversed on purpose: clients must order by `index`, not by position.
        data: body.input
          .map((text, index) => ({ object: 'embedding', index, embedding: fakeVector(text, size) }))
          .reverse(),
        usage: { prompt_tokens: 1, total_tokens: 1 },
      });
    },
  });

  return {
    baseUrl: `http://127.0.0.1:${server.port}/v1`,
    dimension,
    requests,
    /** Answers the next requests with these modes, in order. */
    enqueue: (...modes: FakeEmbeddingsMode[]) => queue.push(...modes),
    /** Answers every later request this way (after the queue). */
    setMode: (mode: FakeEmbeddingsMode) => {
      fallback = mode;
    },
    /** Resolves once `count` requests in all have arrived. */
    waitForRequests: (count: number) =>
      requests.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    stop: () => server.stop(true),
  };
}

export type FakeEmbeddings = ReturnType<typeof startFakeEmbeddings>;
