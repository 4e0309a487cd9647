// The dry run (`POST …/integrations/crisp/test`): a sample question through the whole answer
// pipeline plus a live credential check; it posts nothing and leaves no conversation behind.
import type { Database } from 'bun:sqlite';
import type { AnswerDeps } from '../answers/answer.ts';
import { askOnce } from '../answers/ask-once.ts';
import type { Chatbot } from '../chatbots/model.ts';
import type { Clock } from '../clock.ts';
import type { CrispClient } from './client.ts';
import type { Connection, ConnectionStore } from './connections.ts';
import type { TestResponse } from './model.ts';
import { plannedPosts } from './turn-plan.ts';

export type DryRunDeps = {
  db: Database;
  clock: Clock;
  crisp: CrispClient;
  connections: ConnectionStore;
  answers: AnswerDeps;
};

export const SAMPLE_QUESTION = 'Hello! What can you help me with?';

export async function dryRun(
  deps: DryRunDeps,
  chatbot: Chatbot,
  connection: Connection,
  question: string,
): Promise<TestResponse> {
  const at = () => new Date(deps.clock.now());
  const check = await deps.crisp.checkCredentials(connection.credentials);
  if (check.ok) deps.connections.recordOk(chatbot.id, at());
  else deps.connections.recordError(chatbot.id, check.error, at());
  // A throwaway conversation: the dry run leaves no history and posts nothing.
  const result = await askOnce(deps, chatbot, question, {
    externalId: `crisp-test-${crypto.randomUUID()}`,
  });
  return {
    credentials: check.ok
      ? { ok: true, status: 200, reason: null }
      : {
          ok: false,
          status: check.error.status,
          reason: `${check.error.kind}: ${check.error.reason}`,
        },
    question,
    answer: {
      reply: result.reply,
      handoff: result.handoff,
      reason: result.reason,
      sources: result.sources,
    },
    wouldPost: wouldPost(connection.websiteId, plannedPosts(chatbot, question, result, false)),
  };
}

/** The Crisp calls a turn would make for these posts (the handoff's state change before its note). */
function wouldPost(
  websiteId: string,
  posts: ReturnType<typeof plannedPosts>,
): TestResponse['wouldPost'] {
  const base = `/v1/website/${websiteId}/conversation/{sessionId}`;
  return posts.flatMap((post) => [
    ...(post.kind === 'note'
      ? [
          {
            kind: 'state' as const,
            method: 'PATCH',
            path: `${base}/state`,
            body: { state: 'unresolved' },
          },
        ]
      : []),
    { kind: post.kind, method: 'POST', path: `${base}/message`, body: post.body },
  ]);
}
