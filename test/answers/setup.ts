// Shared set-up for answer tests: a test app wired to the fake Groq, with a small knowledge base.
import { addTextSources } from '../../src/sources/bulk.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import type { FakeGroq } from '../helpers/fake-groq.ts';

export const DOCS = [
  {
    title: 'Refund policy',
    url: 'https://shop.test/refunds',
    text: 'Refunds are paid back within 5 business days after we receive the returned parcel.',
  },
  {
    title: 'Shipping to Canada',
    url: 'https://shop.test/shipping-canada',
    text: 'Shipping to Canada costs 12 dollars and takes about one week with the postal service.',
  },
  {
    title: 'Opening hours',
    url: 'https://shop.test/hours',
    text: 'Our warehouse team works Monday to Friday from nine to five.',
  },
];

export async function chatApp(
  groq: FakeGroq | null,
  env: Record<string, string> = {},
  settings: Record<string, unknown> = {},
) {
  const t = await buildTestApp({
    ...(groq ? { GROQ_BASE_URL: groq.baseUrl, GROQ_API_KEY: 'test-groq-key' } : {}),
    ...env,
  });
  const res = await t.request('/api/v1/chatbots', {
    method: 'POST',
    json: { name: `Shop ${crypto.randomUUID()}`, ...settings },
  });
  const chatbot = (await res.json()) as { id: string };
  await addTextSources(t.deps.sources, chatbot.id, DOCS);
  return { ...t, chatbotId: chatbot.id, answer: t.deps.answers };
}

export type ChatApp = Awaited<ReturnType<typeof chatApp>>;

/** POST /chat as JSON. */
export async function chat(t: TestApp & { chatbotId: string }, body: Record<string, unknown>) {
  const res = await t.request(`/api/v1/chatbots/${t.chatbotId}/chat`, {
    method: 'POST',
    json: body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & ChatJson };
}

export type ChatJson = {
  reply: string;
  sources: {
    sourceId: string;
    chunkId: string;
    title: string;
    url: string | null;
    text: string;
    score: number;
  }[];
  handoff: boolean;
  reason: string | null;
  conversationId: string;
  usage: { promptTokens: number; completionTokens: number; costUsd: number; llmCalls: number };
};

export type SseEvent = { event: string; data: unknown };

/** POST /chat with Accept: text/event-stream; returns the parsed events in order. */
export async function chatStream(
  t: TestApp & { chatbotId: string },
  body: Record<string, unknown>,
): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const res = await t.request(`/api/v1/chatbots/${t.chatbotId}/chat`, {
    method: 'POST',
    json: body,
    headers: { accept: 'text/event-stream' },
  });
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
      return { event, data };
    });
  return { status: res.status, contentType: res.headers.get('content-type'), events };
}

export const tokensOf = (events: SseEvent[]) =>
  events
    .filter((e) => e.event === 'token')
    .map((e) => (e.data as { text: string }).text)
    .join('');
