// The Crisp test harness: the real HTTP server (Bun.serve, port 0) over a temp data dir, a fake
// Crisp and a fake Groq on loopback. The worker is not started: tests run jobs with drain().
import type { Delivery } from '../../src/crisp/delivery-log.ts';
import { startServer } from '../../src/server.ts';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.ts';
import {
  delivery,
  type FakeCrispToken,
  type FakeHook,
  startFakeCrisp,
  WEBSITE_ID,
} from '../helpers/fake-crisp.ts';
import { startFakeGroq } from '../helpers/fake-groq.ts';

export const PLUGIN_TOKEN: FakeCrispToken = {
  identifier: 'a8f2f4a6-plugin-identifier-0001',
  key: 'b3c2f9e1d4a7c6b5e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2',
  tier: 'plugin',
};
export const WEBSITE_TOKEN: FakeCrispToken = {
  identifier: 'c0ffee00-website-identifier-02',
  key: 'website-token-key-0123456789abcdef0123456789',
  tier: 'website',
};
export const SIGNING_SECRET = 'plugin-hooks-signing-secret-42';
export const PUBLIC_URL = 'https://answerdesk.example.com';

/** A fresh Crisp session id, so tests sharing one harness never share a conversation. */
export const newSession = () => `session_${crypto.randomUUID()}`;

export async function startCrispHarness(
  env: Record<string, string> = {},
  fake: { cacheTtlMs?: number } = {},
) {
  const crisp = startFakeCrisp({
    tokens: [PLUGIN_TOKEN, WEBSITE_TOKEN],
    websites: [WEBSITE_ID],
    ...fake,
  });
  const groq = await startFakeGroq();
  const t = await buildTestApp({
    CRISP_API_URL: crisp.url,
    GROQ_BASE_URL: groq.baseUrl,
    GROQ_API_KEY: 'test-groq-key',
    PUBLIC_URL,
    HOST: '127.0.0.1',
    PORT: '0',
    CRISP_BURST_WINDOW_MS: '2000',
    ...env,
  });
  const server = startServer(t.deps, t.app);
  const base = `http://127.0.0.1:${server.port}`;

  /** An admin call over HTTP with the admin token (or `auth`). */
  const admin = (
    path: string,
    init: RequestInit & { json?: unknown; auth?: string | false } = {},
  ) => {
    const { json, auth, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (auth !== false) headers.set('authorization', `Bearer ${auth ?? ADMIN_TOKEN}`);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${base}${path}`, {
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  };

  const createChatbot = async (body: Record<string, unknown> = {}) => {
    const res = await admin('/api/v1/chatbots', {
      method: 'POST',
      json: { name: `bot-${crypto.randomUUID().slice(0, 8)}`, ...body },
    });
    if (res.status !== 201) throw new Error(`create chatbot: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string; persona: { nickname: string } };
  };

  const connect = async (
    chatbotId: string,
    body: Record<string, unknown> = {},
  ): Promise<{ webhookUrl: string; key: string }> => {
    const res = await admin(`/api/v1/chatbots/${chatbotId}/integrations/crisp`, {
      method: 'PUT',
      json: {
        websiteId: WEBSITE_ID,
        tokenIdentifier: PLUGIN_TOKEN.identifier,
        tokenKey: PLUGIN_TOKEN.key,
        ...body,
      },
    });
    if (res.status !== 200) throw new Error(`connect: ${res.status} ${await res.text()}`);
    const out = (await res.json()) as { webhookUrl: string };
    const key = new URL(out.webhookUrl).searchParams.get('key')!;
    return { webhookUrl: out.webhookUrl, key };
  };

  /** POSTs a delivery to the webhook of `chatbotId` (with `key` in the URL when given). */
  const webhook = (
    chatbotId: string,
    event: unknown,
    options: Parameters<typeof delivery>[1] & { key?: string | null } = {},
  ) => {
    const query = options.key ? `?key=${encodeURIComponent(options.key)}` : '';
    return fetch(
      `${base}/api/integrations/livechat/crisp/webhook/${chatbotId}${query}`,
      delivery(event, options),
    );
  };

  /** Sets up a connected chatbot and returns what the tests need to write to its webhook. */
  const connectedBot = async (body: Record<string, unknown> = {}, connectBody = {}) => {
    const bot = await createChatbot(body);
    const { key, webhookUrl } = await connect(bot.id, connectBody);
    const send = (event: unknown, options: Parameters<typeof delivery>[1] = {}) =>
      webhook(bot.id, event, { key, ...options });
    /** Attaches this bot's webhook to the fake Crisp: its echoes, visitors and routing go there. */
    const hook = (options: Omit<FakeHook, 'url'> = {}) =>
      crisp.attach({
        url: `${base}/api/integrations/livechat/crisp/webhook/${bot.id}?key=${encodeURIComponent(key)}`,
        ...options,
      });
    /** The delivery log, newest first. */
    const deliveries = async (limit?: number) => {
      const query = limit === undefined ? '' : `?limit=${limit}`;
      const res = await admin(`/api/v1/chatbots/${bot.id}/integrations/crisp/deliveries${query}`);
      return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
    };
    return { bot, key, webhookUrl, send, hook, deliveries };
  };

  const jobs = () =>
    t.deps.db
      .query<{ kind: string; state: string; last_error: string | null; result: string | null }, []>(
        'SELECT kind, state, last_error, result FROM jobs ORDER BY id',
      )
      .all();

  /** Answer requests the fake Groq received whose prompt holds `text`. */
  const answersFor = (text: string) =>
    groq.requestsOf('answer').filter((r) => r.body.messages.some((m) => m.content.includes(text)))
      .length;

  return {
    t,
    deps: t.deps,
    answersFor,
    crisp,
    groq,
    base,
    admin,
    createChatbot,
    connect,
    webhook,
    connectedBot,
    jobs,
    drain: () => t.deps.worker.drain(),
    /** Runs the jobs due by the app's clock only (timers such as the typing grace wait). */
    drainDue: () => t.deps.worker.drain({ skipDelays: false }),
    /** Moves the app's clock `ms` further (it stays pinned there). */
    advance: (ms: number) => t.clock.pin(new Date(t.clock.now() + ms)),
    /** `ms` pass on the app's clock, then the jobs due by then run. */
    settle: async (ms: number) => {
      t.clock.pin(new Date(t.clock.now() + ms));
      await t.deps.worker.drain({ skipDelays: false });
    },
    async close() {
      await server.stop('test done');
      await groq.stop();
      await crisp.close();
      await t.close().catch(() => {});
    },
  };
}

export type { Delivery };

export type CrispHarness = Awaited<ReturnType<typeof startCrispHarness>>;
