// A fake Groq (OpenAI-compatible) server on 127.0.0.1 for offline tests and benches.
//
// Usage:
//   const groq = await startFakeGroq();            // Bun.serve on 127.0.0.1, port 0
//   buildTestApp({ GROQ_BASE_URL: groq.baseUrl, GROQ_API_KEY: 'test-key' });  // host only
//   groq.enqueue(fakeAnswer('Refunds take 5 days [1].'));  // next request gets this reply
//   groq.enqueue({ status: 429, retryAfter: '0' }, { status: 500 });  // FIFO, one per request
//   groq.setDefault((req) => ...);                 // replies when the queue is empty
//   groq.requests                                  // every request: { body, kind, receivedAt }
//   groq.stop();
//
// Replies (FakeReply): `text` streamed as chunks of ~`tokenChars` characters at `tokensPerSecond`
// (default: as fast as possible), usage in the final chunk (`x_groq.usage`, as Groq sends it);
// `status` (+ `retryAfter`) for an error response; `firstTokenDelayMs` for a slow first token;
// `stallAfterTokens` sends that many tokens and then holds the connection open without a byte
// more (until the client aborts or the server stops); `reasoning` is streamed first as
// `delta.reasoning`. Non-streaming requests (`stream: false`) get one JSON completion.
// The default reply: a rewrite call (recognised by CONDENSE_MARKER in its system prompt) echoes
// the latest message as `{"query","lexicalQuery"}`; an answer call gets `[[answer]]` + "OK [1]".
//
// `GET /openai/v1/models` (groq-sdk's `models.list()`, node_modules/groq-sdk/src/resources/models.ts)
// answers `{"object":"list","data":[{id,object:"model",created,owned_by}]}` (ModelListResponse in
// node_modules/groq-sdk/resources/models.d.ts) for FAKE_MODELS; `setModels({ ids, status,
// delayMs })` changes it. With `apiKey`, any other bearer token gets 401 with Groq's
// `invalid_api_key` error on every route. Model-list requests are counted in `modelRequests`
// only, so `requests` stays the chat completions.
import type { Server } from 'bun';
import { CONDENSE_MARKER } from '../../src/answers/prompt.ts';
import {
  ANSWER_HEADER,
  handoffHeader,
  type ModelHandoffReason,
} from '../../src/answers/protocol.ts';

export type FakeReply = {
  text?: string;
  reasoning?: string;
  status?: number;
  retryAfter?: string;
  firstTokenDelayMs?: number;
  stallAfterTokens?: number;
  tokensPerSecond?: number;
  /** Characters per streamed token (default 4). */
  tokenChars?: number;
  /** Leave usage out of the final chunk. */
  omitUsage?: boolean;
};

export type FakeRequest = {
  body: {
    model: string;
    stream?: boolean;
    messages: { role: string; content: string }[];
    max_completion_tokens?: number;
    reasoning_effort?: string;
    [key: string]: unknown;
  };
  /** `condense` when the system prompt is the query rewriter's, else `answer`. */
  kind: 'condense' | 'answer';
  authorization: string | null;
  path: string;
  /** performance.now() when the request arrived (benches measure against it). */
  receivedAt: number;
  /** Settles when the response ended or the client hung up (proves an abort reached the socket). */
  closed: Promise<'completed' | 'client_aborted'>;
};

/** An answer in the model's output protocol. */
export const fakeAnswer = (text: string, options: Omit<FakeReply, 'text'> = {}): FakeReply => ({
  text: `${ANSWER_HEADER}\n${text}`,
  ...options,
});

/** A handoff in the model's output protocol. */
export const fakeHandoff = (
  reason: ModelHandoffReason = 'no_answer',
  options: Omit<FakeReply, 'text'> = {},
): FakeReply => ({ text: `${handoffHeader(reason)}\n`, ...options });

/** A rewrite-call reply. */
export const fakeRewrite = (query: string, lexicalQuery = query): FakeReply => ({
  text: JSON.stringify({ query, lexicalQuery }),
});

/** All the messages' text of a request, joined (for "did X reach the prompt" assertions). */
export const promptText = (req: FakeRequest) => req.body.messages.map((m) => m.content).join('\n');

/** Splits text into tokens of about `size` characters (word pieces, spaces kept). */
export function splitTokens(text: string, size = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type FakeGroq = Awaited<ReturnType<typeof startFakeGroq>>;

/** The models the fake lists by default (GROQ_MODEL's default among them). */
export const FAKE_MODELS = ['openai/gpt-oss-20b', 'openai/gpt-oss-120b', 'llama-3.1-8b-instant'];

export type FakeModels = { ids?: string[]; status?: number; delayMs?: number };

export async function startFakeGroq(options: { tokensPerSecond?: number; apiKey?: string } = {}) {
  const requests: FakeRequest[] = [];
  let models: FakeModels = {};
  let modelRequests = 0;
  const queue: FakeReply[] = [];
  const open = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let defaultReply = (req: FakeRequest): FakeReply => {
    if (req.kind === 'condense') {
      const last = req.body.messages.at(-1)?.content ?? '';
      const message = last.replace(/^[\s\S]*Latest message: /, '');
      return fakeRewrite(message);
    }
    return fakeAnswer('OK [1]');
  };
  let sequence = 0;

  const server: Server<undefined> = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (options.apiKey && request.headers.get('authorization') !== `Bearer ${options.apiKey}`) {
        return Response.json(
          {
            error: {
              message: 'Invalid API Key',
              type: 'invalid_request_error',
              code: 'invalid_api_key',
            },
          },
          { status: 401 },
        );
      }
      if (request.method === 'GET' && url.pathname === '/openai/v1/models') {
        modelRequests++;
        if (models.delayMs) await sleep(models.delayMs);
        if (models.status && models.status !== 200) {
          return Response.json(
            { error: { message: `fake status ${models.status}`, type: 'fake' } },
            { status: models.status },
          );
        }
        return Response.json({
          object: 'list',
          data: (models.ids ?? FAKE_MODELS).map((id) => ({
            id,
            object: 'model',
            created: 1_700_000_000,
            owned_by: 'fake',
          })),
        });
      }
      if (request.method !== 'POST' || url.pathname !== '/openai/v1/chat/completions') {
        return Response.json({ error: { message: 'not found' } }, { status: 404 });
      }
      const body = (await request.json()) as FakeRequest['body'];
      const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
      const { promise: closed, resolve: settle } = Promise.withResolvers<
        'completed' | 'client_aborted'
      >();
      request.signal.addEventListener('abort', () => settle('client_aborted'), { once: true });
      const req: FakeRequest = {
        closed,
        body,
        kind: system.startsWith(CONDENSE_MARKER) ? 'condense' : 'answer',
        authorization: request.headers.get('authorization'),
        path: url.pathname,
        receivedAt: performance.now(),
      };
      requests.push(req);
      const reply = queue.shift() ?? defaultReply(req);
      if (reply.status && reply.status >= 400) {
        settle('completed');
        const headers: Record<string, string> = {};
        if (reply.retryAfter !== undefined) headers['retry-after'] = reply.retryAfter;
        return Response.json(
          { error: { message: `fake status ${reply.status}`, type: 'fake' } },
          { status: reply.status, headers },
        );
      }
      const id = `chatcmpl-fake-${++sequence}`;
      const created = Math.floor(Date.now() / 1000);
      const text = reply.text ?? '';
      const promptTokens = Math.ceil(body.messages.map((m) => m.content).join('\n').length / 4);
      const tokens = splitTokens(text, reply.tokenChars ?? 4);
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: tokens.length,
        total_tokens: promptTokens + tokens.length,
      };
      if (!body.stream) {
        if (reply.firstTokenDelayMs) await sleep(reply.firstTokenDelayMs);
        settle('completed');
        return Response.json({
          id,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [
            { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' },
          ],
          usage,
          x_groq: { id },
        });
      }
      const rate = reply.tokensPerSecond ?? options.tokensPerSecond;
      const encoder = new TextEncoder();
      const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        encoder.encode(
          `data: ${JSON.stringify({
            id,
            object: 'chat.completion.chunk',
            created,
            model: body.model,
            choices: [{ index: 0, delta, finish_reason: null, logprobs: null }],
            ...extra,
          })}\n\n`,
        );
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          open.add(controller);
          let closed = false;
          request.signal.addEventListener('abort', () => {
            closed = true;
            open.delete(controller);
          });
          const send = (bytes: Uint8Array) => {
            if (closed) return false;
            try {
              controller.enqueue(bytes);
              return true;
            } catch {
              closed = true;
              return false;
            }
          };
          send(chunk({ role: 'assistant', content: '' }, { x_groq: { id } }));
          if (reply.firstTokenDelayMs) await sleep(reply.firstTokenDelayMs);
          if (reply.reasoning) send(chunk({ reasoning: reply.reasoning }));
          const startedAt = performance.now();
          for (let i = 0; i < tokens.length; i++) {
            if (reply.stallAfterTokens !== undefined && i >= reply.stallAfterTokens) {
              // Hold the connection open with no more bytes; the client must time out.
              return;
            }
            if (rate) {
              const due = startedAt + (i * 1000) / rate;
              const wait = due - performance.now();
              if (wait >= 1) await sleep(wait);
            }
            if (!send(chunk({ content: tokens[i] }))) return;
          }
          if (reply.stallAfterTokens !== undefined && reply.stallAfterTokens >= tokens.length) {
            return;
          }
          const final = encoder.encode(
            `data: ${JSON.stringify({
              id,
              object: 'chat.completion.chunk',
              created,
              model: body.model,
              choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }],
              x_groq: reply.omitUsage ? { id } : { id, usage },
            })}\n\ndata: [DONE]\n\n`,
          );
          send(final);
          settle('completed');
          open.delete(controller);
          if (!closed) controller.close();
        },
      });
      return new Response(stream, {
        headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
      });
    },
  });

  return {
    /** Host only, as GROQ_BASE_URL wants it. */
    baseUrl: `http://127.0.0.1:${server.port}`,
    requests,
    /** Replies for the next requests, in order. */
    enqueue(...replies: FakeReply[]) {
      queue.push(...replies);
    },
    /** How GET /openai/v1/models answers from now on. */
    setModels(next: FakeModels) {
      models = next;
    },
    /** GET /openai/v1/models requests so far. */
    get modelRequests() {
      return modelRequests;
    },
    /** The reply when the queue is empty. */
    setDefault(fn: (req: FakeRequest) => FakeReply) {
      defaultReply = fn;
    },
    /** Requests of one kind. */
    requestsOf(kind: FakeRequest['kind']) {
      return requests.filter((r) => r.kind === kind);
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      models = {};
      modelRequests = 0;
    },
    async stop() {
      for (const controller of open) {
        try {
          controller.close();
        } catch {}
      }
      open.clear();
      await server.stop(true);
    },
  };
}
