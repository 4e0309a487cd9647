// Shared set-up for answer-test routes: the answer test app (fake Groq, three text sources) and
// builders for the tests and runs routes.
import type { TestApp } from '../helpers/app.ts';

export const testsPath = (chatbotId: string, rest = '') =>
  `/api/v1/chatbots/${chatbotId}/tests${rest}`;

type App = TestApp & { chatbotId: string };

export async function addTest(t: App, json: unknown, auth?: string | false) {
  const res = await t.request(testsPath(t.chatbotId), { method: 'POST', json, auth });
  return { status: res.status, body: await res.json() };
}

/** The chatbot's source ids by title. */
export async function sourceIds(t: App): Promise<Record<string, string>> {
  const res = await t.request(`/api/v1/chatbots/${t.chatbotId}/sources`);
  const { items } = (await res.json()) as { items: { id: string; title: string }[] };
  return Object.fromEntries(items.map((s) => [s.title, s.id]));
}

/** Starts a run, lets the worker finish it, and reads it back. */
export async function runToEnd(t: App) {
  const started = await t.request(testsPath(t.chatbotId, '/run'), { method: 'POST' });
  const { runId } = (await started.json()) as { runId: string };
  await t.deps.worker.drain();
  return readRun(t, runId);
}

export async function readRun(t: App, runId: string) {
  const res = await t.request(testsPath(t.chatbotId, `/runs/${runId}`));
  return (await res.json()) as RunJson;
}

export type ResultJson = {
  testId: string;
  question: string;
  status: 'pass' | 'fail';
  reasons: string[];
  reply: string;
  handoff: boolean;
  handoffReason: string | null;
  cited: string[];
  changed: boolean;
  previousStatus: 'pass' | 'fail' | null;
  usage: { llmCalls: number; costUsd: number; totalTokens: number };
  costUsd: number;
};

export type RunJson = {
  runId: string;
  status: string;
  trigger: string;
  sourceIds: string[];
  passed: number;
  failed: number;
  costUsd: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  usage: { llmCalls: number; costUsd: number };
  results: ResultJson[];
};
