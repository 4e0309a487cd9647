// The LLM probe against the fake Groq: each way the endpoint can be wrong gets its own status and a
// plain reason (never the key), and /readyz reports it while staying 200.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'bun:test';
import { LlmProbe, type ProbeTarget, probeLlm } from '../../src/llm/probe.ts';
import { createLogger } from '../../src/logging.ts';
import { buildTestApp } from '../helpers/app.ts';
import { type FakeGroq, startFakeGroq } from '../helpers/fake-groq.ts';

const KEY = 'gsk_fake_key_for_the_probe_0123456789';
const log = createLogger('silent');
let groq: FakeGroq;

const target = (overrides: Partial<ProbeTarget> = {}): ProbeTarget => ({
  baseUrl: groq.baseUrl,
  apiKey: KEY,
  model: 'openai/gpt-oss-20b',
  timeoutMs: 2_000,
  ...overrides,
});

/** A port nothing listens on: a server that was just stopped. */
async function deadPort(): Promise<number> {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') });
  const port = server.port!;
  await server.stop(true);
  return port;
}

beforeAll(async () => {
  groq = await startFakeGroq({ apiKey: KEY });
});
afterAll(() => groq.stop());
beforeEach(() => groq.reset());

describe('probeLlm', () => {
  it('should say ok when the endpoint lists its models for the key', async () => {
    expect(await probeLlm(target())).toEqual({ status: 'ok', reason: null });
    expect(groq.modelRequests).toBe(1);
    // The probe is a models list, never a billed completion.
    expect(groq.requests).toHaveLength(0);
  });

  it('should say unauthorized when the endpoint refuses the key, without naming the key', async () => {
    const wrong = 'gsk_wrong_key_9876543210_secret';
    const result = await probeLlm(target({ apiKey: wrong }));
    expect(result.status).toBe('unauthorized');
    expect(result.reason).toContain('401');
    expect(result.reason).not.toContain(wrong);
  });

  it('should say misconfigured, naming the path, when GROQ_BASE_URL has a path that answers 404', async () => {
    const result = await probeLlm(target({ baseUrl: `${groq.baseUrl}/openai/v1` }));
    expect(result.status).toBe('misconfigured');
    expect(result.reason).toContain('404');
    expect(result.reason).toContain('GROQ_BASE_URL has a path (/openai/v1)');
    expect(result.reason).toContain('host only');
  });

  it('should say unreachable when the connection is refused', async () => {
    const result = await probeLlm(target({ baseUrl: `http://127.0.0.1:${await deadPort()}` }));
    expect(result.status).toBe('unreachable');
    expect(result.reason).toContain('refused the connection');
  });

  it('should say unreachable within its timeout when the endpoint does not answer', async () => {
    groq.setModels({ delayMs: 5_000 });
    const started = performance.now();
    const result = await probeLlm(target({ timeoutMs: 150 }));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result).toEqual({
      status: 'unreachable',
      reason: `no answer from ${new URL(groq.baseUrl).host} within 150 ms`,
    });
  });

  it('should say unreachable on a server error and ok (with the reason) when rate-limited', async () => {
    groq.setModels({ status: 503 });
    const down = await probeLlm(target());
    expect(down.status).toBe('unreachable');
    expect(down.reason).toContain('503');
    groq.setModels({ status: 429 });
    const throttled = await probeLlm(target());
    expect(throttled.status).toBe('ok');
    expect(throttled.reason).toContain('429');
  });

  it('should say misconfigured when GROQ_MODEL is not among the listed models', async () => {
    const result = await probeLlm(target({ model: 'no-such-model' }));
    expect(result.status).toBe('misconfigured');
    expect(result.reason).toContain('"no-such-model"');
  });

  it('should say misconfigured without a request when there is no key', async () => {
    expect(await probeLlm(target({ apiKey: undefined }))).toEqual({
      status: 'misconfigured',
      reason: 'GROQ_API_KEY is not set',
    });
    expect(groq.modelRequests).toBe(0);
  });

  it('should say misconfigured for a redirect (never followed with the key) or a 200 that is not a model list', async () => {
    const other = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (req) => {
        const path = new URL(req.url).pathname;
        if (path.startsWith('/moved')) return Response.redirect(`${groq.baseUrl}/openai/v1/models`);
        return new Response('<html>a web site</html>', {
          headers: { 'content-type': 'text/html' },
        });
      },
    });
    try {
      const moved = await probeLlm(target({ baseUrl: `http://127.0.0.1:${other.port}/moved` }));
      expect(moved.status).toBe('misconfigured');
      expect(moved.reason).toContain('redirect (302)');
      expect(groq.modelRequests).toBe(0);
      const page = await probeLlm(target({ baseUrl: `http://127.0.0.1:${other.port}` }));
      expect(page.status).toBe('misconfigured');
      expect(page.reason).toContain('not with a model list');
    } finally {
      await other.stop(true);
    }
  });
});

describe('LlmProbe', () => {
  it('should check at start and again after each interval', async () => {
    const probe = new LlmProbe({ target: target(), intervalMs: 50, now: Date.now, log });
    try {
      expect(probe.latest().status).toBe('unknown');
      probe.start();
      const first = await probe.current(2_000);
      expect(first.status).toBe('ok');
      expect(first.checkedAt).not.toBeNull();
      // The next check finds the endpoint gone: the status follows without a restart.
      groq.setModels({ status: 500 });
      const deadline = Date.now() + 5_000;
      while (probe.latest().status === 'ok' && Date.now() < deadline) await Bun.sleep(10);
      expect(probe.latest().status).toBe('unreachable');
      expect(groq.modelRequests).toBeGreaterThanOrEqual(2);
    } finally {
      probe.stop();
    }
  });

  it('should stop checking after stop()', async () => {
    const probe = new LlmProbe({ target: target(), intervalMs: 20, now: Date.now, log });
    probe.start();
    await probe.current(2_000);
    probe.stop();
    const seen = groq.modelRequests;
    await Bun.sleep(100);
    expect(groq.modelRequests).toBe(seen);
  });
});

describe('/readyz with the LLM probe', () => {
  it('should stay 200 and report the LLM unreachable with its reason, and ok once it answers', async () => {
    const port = await deadPort();
    const t = await buildTestApp({ GROQ_API_KEY: KEY, GROQ_BASE_URL: `http://127.0.0.1:${port}` });
    try {
      await t.deps.llmProbe.check();
      const res = await t.request('/readyz', { auth: false });
      // Webhooks keep being accepted (and handed to humans): a load balancer must not pull us.
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.status).toBe('ready');
      expect(body.llm).toBe('unreachable');
      expect(body.llmReason).toContain('refused');
      expect(Date.parse(body.llmCheckedAt)).toBeGreaterThan(0);
      expect(body.warnings.join(' ')).toContain('LLM unreachable');
      expect(JSON.stringify(body)).not.toContain(KEY);
    } finally {
      await t.close();
    }
    const good = await buildTestApp({ GROQ_API_KEY: KEY, GROQ_BASE_URL: groq.baseUrl });
    try {
      good.deps.llmProbe.start();
      const body = await (await good.request('/readyz', { auth: false })).json();
      expect(body.llm).toBe('ok');
      expect(body.llmReason).toBeNull();
      expect(body.warnings.join(' ')).not.toContain('LLM');
    } finally {
      good.deps.llmProbe.stop();
      await good.close();
    }
  });
});
