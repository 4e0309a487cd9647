// Shared set-up for the insights tests: a test app on the fake Groq, which answers questions about
// refunds (the knowledge base has that) and hands every other question off for lack of an answer.
import type { Database } from 'bun:sqlite';
import {
  addVisitorMessage,
  appendMessage,
  getOrCreateConversation,
} from '../../src/conversations/service.ts';
import type { Embedder } from '../../src/embeddings/types.ts';
import { addTextSources } from '../../src/sources/bulk.ts';
import { buildTestApp } from '../helpers/app.ts';
import {
  type FakeRequest,
  fakeAnswer,
  fakeHandoff,
  fakeRewrite,
  startFakeGroq,
} from '../helpers/fake-groq.ts';

/**
 * Writes handed-off turns straight into SQLite (faster than the pipeline for hundreds): for each
 * question, a conversation of its own (`externalId` + its index, on `channel`), the question, and
 * a `no_answer` handoff, one second apart from `from`.
 */
export function seedHandoffs(
  db: Database,
  chatbotId: string,
  questions: string[],
  from: string,
  conversation: { channel: 'playground' | 'crisp'; externalId: string } = {
    channel: 'playground',
    externalId: 'c',
  },
): void {
  db.transaction(() => {
    questions.forEach((question, i) => {
      const when = new Date(Date.parse(from) + i * 1000);
      const { channel } = conversation;
      const c = getOrCreateConversation(
        db,
        {
          chatbotId,
          channel,
          externalId: `${conversation.externalId}${i}`,
          ...(channel === 'crisp' ? { websiteId: 'w' } : {}),
        },
        when,
      );
      addVisitorMessage(db, c.id, { content: question }, when);
      const handoff = { role: 'bot' as const, content: 'A human will answer.' };
      appendMessage(db, c.id, { ...handoff, handoffReason: 'no_answer' }, when);
    });
  })();
}

/** The French question the fake rewriter translates to English keywords. */
export const FRENCH_MARS = 'Est-ce que vous livrez sur Mars ?';

/** The fake model: answers refund questions (and what a Q&A source taught it), hands off the rest. */
export function fakeModel(req: FakeRequest) {
  const last = req.body.messages.at(-1)?.content ?? '';
  if (req.kind === 'condense') {
    const message = last.replace(/^[\s\S]*Latest message: /, '');
    return fakeRewrite(message, message === FRENCH_MARS ? 'deliver to Mars' : message);
  }
  const system = req.body.messages[0]?.content ?? '';
  if (/refund/i.test(last)) return fakeAnswer('Refunds take 5 business days [1].');
  // A passage from a Q&A source made from a group: answer from it.
  const taught = /We deliver to Mars every full moon\./.exec(system);
  if (taught) return fakeAnswer(`${taught[0]} [1]`);
  return fakeHandoff('no_answer');
}

/** A small help centre: full-text scores on it are like a real one's (docs/notes/insights.md). */
const DOCS = [
  { title: 'Refund policy', text: 'Refunds are paid back within 5 business days.' },
  { title: 'Shipping', text: 'We ship to all EU countries within 3 business days.' },
  { title: 'Opening hours', text: 'Our support team answers Monday to Friday, 9:00 to 18:00.' },
  { title: 'Accounts', text: 'To reset your password, click Forgot password on the login page.' },
  { title: 'Pricing', text: 'The Pro plan costs 29 euros per month, billed yearly.' },
];

export async function insightsApp(options: { embedder?: Embedder | null } = {}) {
  const groq = await startFakeGroq();
  groq.setDefault(fakeModel);
  const t = await buildTestApp(
    { GROQ_BASE_URL: groq.baseUrl, GROQ_API_KEY: 'test-groq-key' },
    options,
  );
  const newChatbot = async () => {
    const res = await t.request('/api/v1/chatbots', {
      method: 'POST',
      json: { name: `insights-${crypto.randomUUID().slice(0, 8)}` },
    });
    const { id } = (await res.json()) as { id: string };
    await addTextSources(t.deps.sources, id, DOCS);
    return id;
  };
  /** A playground question (a new conversation unless given), asked at `at` when given. */
  const ask = async (
    chatbotId: string,
    message: string,
    options: { conversationId?: string; at?: string } = {},
  ) => {
    if (options.at) t.clock.pin(new Date(options.at));
    const res = await t.request(`/api/v1/chatbots/${chatbotId}/chat`, {
      method: 'POST',
      json: { message, conversationId: options.conversationId ?? crypto.randomUUID() },
    });
    if (res.status !== 200) throw new Error(`chat: ${res.status} ${await res.text()}`);
    return (await res.json()) as { handoff: boolean; conversationId: string };
  };
  const unanswered = async (chatbotId: string, query = '') => {
    const res = await t.request(`/api/v1/chatbots/${chatbotId}/insights/unanswered${query}`);
    return { status: res.status, body: (await res.json()) as Report };
  };
  return {
    ...t,
    groq,
    newChatbot,
    ask,
    unanswered,
    async close() {
      await groq.stop();
      await t.close();
    },
  };
}

export type Group = {
  id: string;
  count: number;
  examples: string[];
  lastSeenAt: string;
  sessionIds: string[];
  suggestedAnswer: string | null;
};

export type Report = {
  groups: Group[];
  lowConfidence: {
    question: string;
    reply: string;
    topScore: number | null;
    scoreKind: string | null;
    sessionId: string;
    messageId: string;
    at: string;
  }[];
  truncated: boolean;
  error?: { code: string; message: string };
};
